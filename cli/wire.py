"""What a sync server takes, checked before the CLI stores or queues a change.

A change the server can never accept would stay at the head of the device's
outbox and stop every later sync, so the CLI refuses it at once, naming the
argument: text no store can keep verbatim (NUL, lone surrogates, which
undecodable bytes in a command line become) and arguments over the server's
per-mutation cap (``api.limits.MAX_ARGS_BYTES``, measured as the server does).
"""

from __future__ import annotations

import json
from typing import Any

from api.limits import MAX_ARGS_BYTES


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    return []


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def check_args(args: dict[str, Any]) -> None:
    """Raise ``InvalidValue`` naming the argument the server would refuse."""
    from domain.errors import InvalidValue

    for name, value in args.items():
        for text in _texts(value):
            if "\x00" in text:
                raise InvalidValue(name, "must not contain NUL characters (U+0000)")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidValue(name, "must be valid UTF-8 text (the command line held bytes that are not)") from None
    total = _size(args)
    if total > MAX_ARGS_BYTES:
        name = max(args, key=lambda k: _size(args[k]))
        raise InvalidValue(name, f"is too long: a change's arguments are at most {MAX_ARGS_BYTES // 1024} KiB "
                                 f"as JSON, and these are {total // 1024} KiB")
