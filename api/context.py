"""What a request works with: the store, the projections, the caller.

``Backend`` is built once per Flask app by ``create_app`` (the composition
root) and kept in ``app.extensions["backstory"]``; views reach it through
``backend()``, the authenticated device through ``principal()``, and the
page a list request asks for through ``page_after`` and ``paged``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.persistence import OperationalError
from flask import current_app, g

from api import cursor
from api.errors import ApiProblem, StoreBusy
from api.ratelimit import TokenBuckets
from service.accounts import Principal
from service.application import BackstoryApp

log = logging.getLogger("backstory.api")
T = TypeVar("T")


@dataclass
class Backend:
    app: BackstoryApp
    projections: Any
    url: str
    limiter: TokenBuckets
    busy_retries: int = 4
    account_limiter: TokenBuckets | None = None
    catch_up_limit: int = 2000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def catch_up(self) -> None:
        """Apply at most ``catch_up_limit`` new notifications to the projections; never the caller's failure.

        Bounded, so a request never pays for a long backlog (a pull once did a 65,401-event catch-up
        and took 66 s): the follower (PostgreSQL) or the next requests (SQLite) do the rest, and a pull
        says how far behind the feed is.
        """
        try:
            with self._lock:
                self.projections.catch_up(self.catch_up_limit)
        except Exception as e:
            log.warning("projections catch-up failed: %s", type(e).__name__, exc_info=log.isEnabledFor(logging.DEBUG))

    def retrying(self, work: Callable[[], T]) -> T:
        """Run ``work``, retrying while the store is busy (locked, pool exhausted); then StoreBusy (503)."""
        delay = 0.05
        for attempt in range(self.busy_retries + 1):
            try:
                return work()
            except OperationalError as e:
                if attempt == self.busy_retries:
                    log.warning("store busy after %d attempts: %s", attempt + 1, type(e).__name__)
                    raise StoreBusy() from e
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def close(self) -> None:
        for closer in (getattr(self.projections, "close", None), self.app.close):
            if closer is None:
                continue
            try:
                closer()
            except Exception:
                log.warning("closing failed", exc_info=True)


def backend() -> Backend:
    return current_app.extensions["backstory"]


def principal() -> Principal:
    return g.principal


def page_after(query: dict, page: str, shape: tuple) -> list | None:
    """The keyset the query's ``after`` cursor stands at on ``page``; 400 naming ``after`` when unusable."""
    ctx = backend()
    try:
        return cursor.decode_key(query["after"], ctx.projections.database_id(), str(principal().account_id),
                                 page, shape)
    except cursor.CursorError as e:
        raise ApiProblem(400, "bad-cursor", f"after: {e}", title="Unusable cursor",
                         errors={"after": [str(e)]}) from None


def paged(out: dict, query: dict, page: str, last_key: list | None, has_more: bool) -> dict:
    """``out`` with the page's ``next_cursor`` (the given one when the page is empty) and ``has_more``."""
    next_cursor = query["after"] if last_key is None else cursor.encode_key(
        backend().projections.database_id(), str(principal().account_id), page, last_key)
    return {**out, "next_cursor": next_cursor, "has_more": has_more}

