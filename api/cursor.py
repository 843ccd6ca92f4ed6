"""Pull cursors: opaque to clients, checked by the server.

A cursor is the URL-safe base64 (unpadded) of ``{"v": 1, "db": DATABASE_ID,
"acct": ACCOUNT_ID, "pos": POSITION}``: the feed position it stands after, in
one account of one database. A cursor made by another database (a restored or
different server) or for another account is refused, never silently
reinterpreted; an old cursor of the right database and account replays from
its position.
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


def decode(cursor: str | None, database_id: str, account_id: str) -> int:
    """The position after which to read; 0 for an empty or absent cursor."""
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error):
        raise CursorError("not a cursor of this server; use a next_cursor from an earlier pull, "
                          "or no cursor to start from the beginning") from None
    if (not isinstance(data, dict) or data.get("v") != VERSION or not isinstance(data.get("db"), str)
            or not isinstance(data.get("acct"), str) or not isinstance(data.get("pos"), int)
            or isinstance(data.get("pos"), bool) or not 0 <= data["pos"] <= MAX_POSITION):
        raise CursorError("not a cursor of this server; use a next_cursor from an earlier pull, "
                          "or no cursor to start from the beginning")
    if data["db"] != database_id:
        raise CursorError("this cursor was made by another database (a different or restored server); "
                          "pull again without a cursor to start from the beginning")
    if data["acct"] != account_id:
        raise CursorError("this cursor belongs to another account")
    return data["pos"]
