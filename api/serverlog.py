"""gunicorn's error log without what a client sent: no request line, URI, header name or exception message.

gunicorn quotes a malformed request line (its query string included) or a
header name in its "Invalid request" warnings, and the URI in "Error handling
request"; any of them may carry a name, a note or a token. ``PrivateLogger``
keeps the kind of problem and withholds the quoted text; for a failure it
keeps the exception's type and traceback frames, not its message. A client
whose request stopped arriving (``api.worker``'s read timeout) is one warning
line, not a traceback. Its lines have the format of every other line of the
server (``service.logs``: time, level, component, pid). ``backstory serve``
uses it; with the gunicorn command line, pass
``--logger-class api.serverlog.PrivateLogger``.
"""

from __future__ import annotations

import re
import sys
import traceback

from gunicorn.glogging import Logger

from service.logs import UtcFormatter

_QUOTED = re.compile(r"""['"].*""", re.S)
_MAX = 200


class PrivateLogger(Logger):
    """gunicorn's Logger, withholding what a client sent, in the common line format."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            if getattr(handler, "_gunicorn", False):
                handler.setFormatter(UtcFormatter())

    def warning(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Invalid request from ip="):
            msg, args = _QUOTED.sub("(withheld)", msg)[:_MAX], ()
        super().warning(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Socket error") and isinstance(sys.exc_info()[1], TimeoutError):
            self.warning("closed a connection whose request stopped arriving (TimeoutError)")
            return
        if isinstance(msg, str) and msg.startswith("Error handling request"):
            error = sys.exc_info()[1]
            frames = "".join(traceback.format_tb(error.__traceback__)) if error is not None else ""
            self.error("Error handling request: %s\n%s", type(error).__name__, frames)
            return
        super().exception(msg, *args, **kwargs)
