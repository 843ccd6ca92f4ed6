"""Drawing charts beside the reading: a forked process imports matplotlib and draws while this one reads.

A report of five years spends about as long reading and judging the record as
importing matplotlib and drawing its charts, and the two do not depend on each
other until the page is written. ``Drawer`` starts one helper process at once
(so its matplotlib import overlaps the reading), takes each chart's plain data
as soon as it is collected and hands back a ``Pending`` whose ``svg()`` waits
for the drawing. The helper is forked (Linux only: it inherits the loaded code and
never touches the store) and exits without running this process's clean-up.

Where forking is not offered, on one CPU, or if the helper cannot start or dies,
the chart is drawn here instead: the same bytes, only later.
"""

from __future__ import annotations

import gc
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any


def _warm() -> None:
    """Import matplotlib in the helper before the first chart arrives."""
    from service.charts._figure import pyplot

    pyplot()


def _draw(name: str, data: dict, zone: tzinfo, fmt: str) -> bytes:
    from service import charts
    from service.charts._figure import render

    return render(charts.module(name).draw(data, zone), fmt)


def can_fork() -> bool:
    """Whether a helper process is worth starting here: Linux (fork is safe there) with more than one CPU."""
    return sys.platform == "linux" and (os.cpu_count() or 1) > 1


@dataclass
class Pending:
    """One chart being drawn: ``result()`` gives its bytes (drawn here if the helper failed)."""

    name: str
    data: dict
    zone: tzinfo
    fmt: str
    future: Future | None

    def result(self) -> bytes:
        if self.future is not None:
            try:
                return self.future.result()
            except BrokenProcessPool:
                pass
        return _draw(self.name, self.data, self.zone, self.fmt)


class Drawer:
    """Charts drawn in one helper process while the caller goes on; ``close()`` ends the helper."""

    def __init__(self, parallel: bool | None = None) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if parallel if parallel is not None else can_fork():
            self._start()

    def _start(self) -> None:
        import multiprocessing

        gc.freeze()  # the helper's collector leaves the inherited objects alone (no copy of every page they are on)
        try:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self._pool.submit(_warm)  # starts the process now, so its import overlaps the caller's reading
        except (OSError, ValueError, RuntimeError):
            self._pool = None
        finally:
            gc.unfreeze()

    def submit(self, name: str, data: dict, zone: tzinfo, fmt: str = "svg") -> Pending:
        future = None
        if self._pool is not None:
            try:
                future = self._pool.submit(_draw, name, data, zone, fmt)
            except (BrokenProcessPool, RuntimeError):
                future = None
        return Pending(name, data, zone, fmt, future)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Drawer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
