"""Following the event store live on PostgreSQL: the read models catch up as events commit.

eventsourcing 9.5's PostgreSQL recorder sends ``NOTIFY`` on its channel with
every insert. ``Follower`` keeps one connection that ``LISTEN``s there and
runs a catch-up after each notification (several notifications that arrive
together make one catch-up), and at least every ``interval`` seconds in case
one was missed while it reconnected. ``backstory projections follow`` runs one
in its own process, and ``backstory serve`` starts that process beside its
workers, so request handling never waits for projection work. Catching up is
exactly once whoever runs it (see ``projections.runner``): readers still catch
up before they read, and a second follower is harmless. SQLite has no
notifications: there the read models catch up when they are read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("backstory.projections")


class Follower:
    """A thread that runs ``catch_up`` whenever the store's PostgreSQL channel is notified."""

    def __init__(self, recorder, catch_up: Callable[[], None], interval: float = 5.0, retry: float = 2.0):
        self.recorder = recorder
        self.catch_up = catch_up
        self.interval = interval
        self.retry = retry
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backstory-follower", daemon=True)
        self.catch_ups = 0

    def start(self) -> Follower:
        self._thread.start()
        return self

    def run(self) -> None:
        """Follow in the calling thread until ``stop`` (from a signal handler, say)."""
        self._run()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        log.info("following the store's notifications (catch-up at least every %.0f s)", self.interval)
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as e:  # a lost connection: reconnect after a pause, never die
                log.warning("following the store failed; retrying in %.0f s: %s", self.retry, type(e).__name__)
                self._stop.wait(self.retry)
        log.info("stopped following the store")

    def _listen(self) -> None:
        from psycopg.sql import SQL, Identifier

        with self.recorder.datastore.get_connection() as conn:
            conn.execute(SQL("LISTEN {0}").format(Identifier(self.recorder.channel_name)))
            conn.commit()
            self._catch_up()  # whatever committed before we listened
            idle = 0.0
            while not self._stop.is_set():
                notified = next(conn.notifies(timeout=0.5, stop_after=1), None) is not None
                idle = 0.0 if notified else idle + 0.5
                if (notified or idle >= self.interval) and not self._stop.is_set():
                    self._catch_up()
                    idle = 0.0

    def _catch_up(self) -> None:
        self.catch_up()
        self.catch_ups += 1
