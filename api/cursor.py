"""Pull and page cursors: opaque to clients, checked by the server.

A cursor is the URL-safe base64 (unpadded) of ``{"v": 1, "db": DATABASE_ID,
"acct": ACCOUNT_ID, "pos": POSITION}``: the feed position it stands after, in
one account of one database. A cursor made by another database (a restored or
different server) or for another account is refused, never silently
reinterpreted; an old cursor of the right database and account replays from
its position.

A read page's cursor (``encode_key``) has ``"page": KIND`` and ``"key": [...]``
instead of ``pos``: the keyset of the last item it answered (a time key, a
position, an id), so the next page starts right after it whatever was
added meanwhile. It is refused on another kind of page.
"""

from __future__ import annotations

import base64
import binascii
import json

VERSION = 1
#: Feed positions are BIGINT: a forged cursor beyond it must be refused here, not fail in the query (a 500).
MAX_POSITION = 2**63 - 1


class CursorError(ValueError):
    """The cursor cannot be used here; the message says why and what to do."""


def encode(database_id: str, account_id: str, position: int) -> str:
    raw = json.dumps({"v": VERSION, "db": database_id, "acct": account_id, "pos": position},
                     separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _load(cursor: str, database_id: str, account_id: str) -> dict:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error):
        raise CursorError(_NOT_OURS) from None
    if (not isinstance(data, dict) or data.get("v") != VERSION or not isinstance(data.get("db"), str)
            or not isinstance(data.get("acct"), str)):
        raise CursorError(_NOT_OURS)
    if data["db"] != database_id:
        raise CursorError("this cursor was made by another database (a different or restored server); "
                          "start again without a cursor")
    if data["acct"] != account_id:
        raise CursorError("this cursor belongs to another account")
    return data


_NOT_OURS = ("not a cursor of this server; use a next_cursor from an earlier answer, "
             "or no cursor to start from the beginning")


def decode(cursor: str | None, database_id: str, account_id: str) -> int:
    """The position after which to read; 0 for an empty or absent cursor."""
    if not cursor:
        return 0
    data = _load(cursor, database_id, account_id)
    if (not isinstance(data.get("pos"), int) or isinstance(data.get("pos"), bool)
            or not 0 <= data["pos"] <= MAX_POSITION):
        raise CursorError(_NOT_OURS)
    return data["pos"]


def encode_key(database_id: str, account_id: str, page: str, key: list) -> str:
    """A cursor after the item whose keyset is ``key`` on ``page`` (e.g. ``"sessions"``)."""
    raw = json.dumps({"v": VERSION, "db": database_id, "acct": account_id, "page": page, "key": key},
                     separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_key(cursor: str | None, database_id: str, account_id: str, page: str, shape: tuple) -> list | None:
    """The keyset after which to read ``page`` (None for an empty or absent cursor); ``shape`` is its types."""
    if not cursor:
        return None
    data = _load(cursor, database_id, account_id)
    key = data.get("key")
    if data.get("page") != page or not isinstance(key, list) or len(key) != len(shape) or not all(
            type(v) is t and (t is not int or 0 <= v <= MAX_POSITION) for v, t in zip(key, shape, strict=True)):
        raise CursorError(f"not a cursor of this list ({page}); use its next_cursor, or no cursor to start "
                          "from the beginning")
    return key
