"""One log line format for every process of a server: gunicorn's master and workers, and the follower.

``TIME LEVEL COMPONENT [PID] MESSAGE``, the time in UTC to the millisecond
(``2026-12-06T04:54:25.123Z INFO backstory.api [4242] GET /v1/program 200
3.1ms device=...``). ``COMPONENT`` is the logger's name: ``gunicorn.error``
(the server itself), ``backstory.api`` (one line per request),
``backstory.projections`` (the follower). What goes into a message is the
caller's business, and no caller logs a name, a note, a token or anything a
client sent (``tests/security/test_logs.py`` holds the server to that).
"""

from __future__ import annotations

import logging
import sys
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


class UtcFormatter(logging.Formatter):
    """``FORMAT`` with an ISO 8601 UTC time (``...T04:54:25.123Z``), whatever the server's time zone."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__(FORMAT)


def configure(level: str = "info", name: str = "backstory") -> logging.Logger:
    """Give the ``name`` logger one stderr handler in the common format (once per process)."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(UtcFormatter())
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger
