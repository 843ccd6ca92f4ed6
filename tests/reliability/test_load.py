"""A bounded load on loopback against a real server process: no 5xx, no contention reaching a client, nothing lost.

Runs ``bench/load.py`` (the same code as the full benchmark) at the CI size:
12 devices of 4 accounts for 12 s, each a thread with its own HTTP connection
pushing batches of 1-50 mutations, pulling its feed and calling read
endpoints, against ``python -m cli --db URL serve`` in its default config on
SQLite and PostgreSQL, each with one worker and with ``--workers 2``; and as
``gunicorn -k gthread --threads 8 'api.wsgi:app()'`` on SQLite. A last,
short run gives the server a low rate limit, so devices meet 429s and wait as
``Retry-After`` says.

What must hold is checked by ``bench/load.py`` and ``bench/load_checks.py`` and
comes back as ``problems`` (empty: all holds): no 5xx, no connection error, no
body mentioning "locked", "pool", "timeout" or "OperationalError", every
protocol answer as expected, every acknowledged mutation stored exactly once
with the status its reply gave (in the store and in its account's feed), each
device's seqs 1..last, a clean server log.

``BACKSTORY_TEST_LOAD=full`` runs the full size instead (20 devices of 5
accounts for 60 s); ``BACKSTORY_TEST_SEED`` replays a run's random choices (thread
timing still differs). ``-s`` prints the figures.
"""

from __future__ import annotations

import os
import uuid

import pytest

from bench.load import FULL, QUICK, Options, _table, run

PG_URL = os.environ.get("BACKSTORY_TEST_POSTGRES_URL")
SIZE = FULL if os.environ.get("BACKSTORY_TEST_LOAD") == "full" else QUICK
SEED = int(os.environ["BACKSTORY_TEST_SEED"]) if os.environ.get("BACKSTORY_TEST_SEED") else None
LAYOUTS = [pytest.param("sqlite", 1, id="sqlite"),
           pytest.param("sqlite", 2, id="sqlite-2-workers"),  # allowed; the processes queue on the file's lock
           pytest.param("postgres", 1, id="postgres", marks=pytest.mark.skipif(not PG_URL, reason="no PostgreSQL")),
           pytest.param("postgres", 2, id="postgres-2-workers",
                        marks=pytest.mark.skipif(not PG_URL, reason="no PostgreSQL")),
           # gunicorn's own command line with threaded workers (README), where requests of one process contend
           pytest.param("sqlite", (1, 8), id="sqlite-8-threads")]


def _db(backend: str) -> str | None:
    """None: a temporary SQLite file; else a new PostgreSQL schema, which the run creates and drops."""
    if backend == "sqlite":
        return None
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL.replace('postgresql+psycopg://', 'postgresql://')}{sep}schema=bs_load_{uuid.uuid4().hex[:10]}"


def _checked(report: dict) -> dict:
    print("\n" + _table(report))
    assert report["problems"] == [], f"{len(report['problems'])} problems: {report['problems'][:10]}"
    assert report["failures"] == 0 and report["http_503"] == 0
    checks = report["checks"]
    assert checks["acknowledged"] > 0 and checks["stored_records"] == checks["acknowledged"]
    return report


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("backend", "workers"), LAYOUTS)
def test_devices_under_load_lose_nothing_and_meet_no_contention(backend, workers):
    workers, threads = workers if isinstance(workers, tuple) else (workers, 0)
    report = _checked(run(Options(db=_db(backend), workers=workers, threads=threads, seed=SEED, **SIZE)))
    kinds = report["kinds"]
    assert set(kinds) == {"push", "pull", "read"}, kinds
    assert kinds["push"]["count"] >= SIZE["devices"], "every device pushed at least once"
    assert report["mutations"] >= kinds["push"]["count"] and report["checks"]["feed_entries"] > report["mutations"]
    assert report["checks"]["logged_pushes"] >= kinds["push"]["count"]


@pytest.mark.timeout(300)
def test_devices_over_the_rate_limit_wait_as_told_and_lose_nothing():
    report = _checked(run(Options(db=None, devices=4, accounts=2, duration=6, seed=SEED,
                                  server_env={"BACKSTORY_RATE_LIMIT": "3", "BACKSTORY_RATE_BURST": "4"})))
    assert report["http_429"] > 0, "no device met the rate limit"
    assert report["statuses"]["429"] == report["http_429"]
