"""Rate limiting per device and per account: a token bucket per key, in memory, per server process.

A request takes tokens by its cost (``cost_of``): 1, more for a large read
page or a recap, so expensive reads run out sooner. With several gunicorn
workers each process keeps its own buckets, so the effective limit is up to
``workers`` times the configured one (the device and pairing caps of
``service.accounts.pair_device`` are counted in the store and hold across
processes).
"""

from __future__ import annotations

import math
import threading
import time


class TokenBuckets:
    """``rate`` tokens per second up to ``burst``; one request takes one token."""

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000, clock=time.monotonic):
        self.rate = float(rate)
        self.burst = float(max(burst, 1))
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _level(self, key: str, now: float) -> float:
        tokens, stamp = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - stamp) * self.rate)

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when ``cost`` tokens were taken; otherwise the seconds until they are available (nothing taken).

        A cost above the burst asks for the whole burst (it could never be paid otherwise).
        """
        if not self.enabled:
            return 0.0
        cost = min(float(cost), self.burst)
        with self._lock:
            now = self.clock()
            tokens = self._level(key, now)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                if len(self._buckets) > self.max_keys:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (cost - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [k for k in self._buckets if self._level(k, now) >= self.burst]
        for k in full:
            del self._buckets[k]
        while len(self._buckets) > self.max_keys:
            self._buckets.pop(next(iter(self._buckets)))


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def cost_of(endpoint: str | None, args) -> int:
    """The tokens a request takes: 1; a read page 1 more per ``PAGE_COST_ITEMS`` items asked beyond the first
    ``PAGE_COST_ITEMS``; a read of whole periods (``WHOLE_PERIOD_READS``) ``RECAP_COST``. ``args`` is the
    query (a bad ``limit`` costs 1: it is refused)."""
    from api import limits

    if endpoint in WHOLE_PERIOD_READS:
        return limits.RECAP_COST
    if endpoint in PAGED:
        try:
            asked = int(args.get("limit", limits.READ_LIMIT_DEFAULT))
        except (TypeError, ValueError):
            return 1
        return 1 + max(0, min(asked, limits.READ_LIMIT_MAX) - 1) // limits.PAGE_COST_ITEMS
    return 1


#: The endpoints that read every fact of a period (up to the whole history), charged ``RECAP_COST``.
WHOLE_PERIOD_READS = frozenset(("reads.recap", "fhir.export_fhir", "fittings.fitting_report", "toolkit.flares",
                                "tension.tension", "day.breaks", "pending.pending",
                                "web.recap", "web.tension", "web.chart_svg", "web.breaks", "web.fitting", "web.flares",
                                "web.pending"))  # the dashboard's (a chart: drawn anew)
#: The list endpoints answered in pages charged by their size (``cost_of``).
PAGED = frozenset(("reads.sessions", "reads.history", "reads.exercise_history", "reads.conflicts",
                   "devices.devices", "web.sessions", "web.history", "web.conflicts"))
