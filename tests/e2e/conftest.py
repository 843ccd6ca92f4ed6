"""Helpers for the end-to-end tests: they play a user typing ``backstory`` commands.

Builds on ``tests/conftest.py`` (``Cli``, ``store_url``, ``cli``). Adds:

- ``module_cli``: one fresh home and store per module and backend, so a long
  scripted history is built once and checked by many small tests;
- ``fresh_cli``: a second, empty home and store on the same backend as ``cli``
  (for export/import round trips);
- ``store_rows``: the number of rows in every table of a store, to prove a
  refused command stored nothing at all;
- date helpers (``day``, ``ago``) relative to today in UTC (a module does not
  start in the last two minutes of a UTC day, so "today" holds while it runs).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import BACKENDS, PG_URL, Cli, _pg_drop, _pg_schema


@pytest.fixture(scope="module", autouse=True)
def _not_across_midnight():
    """Dates are computed as "N days before today": do not start a module in the last 2 minutes of a UTC day."""
    now = datetime.now(timezone.utc)
    left = (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), timezone.utc) - now).total_seconds()
    if left < 120:
        time.sleep(left + 1)


def today() -> date:
    return datetime.now(timezone.utc).date()


def day(n: int) -> str:
    """The ISO date ``n`` days before today (UTC)."""
    return (today() - timedelta(days=n)).isoformat()


def ago(n: int) -> str:
    """The same day as ``day(n)``, in the CLI's own words."""
    return f"{n} days ago"


def when(text: str) -> datetime:
    """An ISO date-time from JSON output, as an aware datetime."""
    return datetime.fromisoformat(text)


def _pg_cli(home, schema: str) -> Cli:
    sep = "&" if "?" in PG_URL else "?"
    return Cli(home, f"{PG_URL}{sep}schema={schema}")


@pytest.fixture(scope="module", params=BACKENDS)
def module_cli(request, tmp_path_factory):
    """A CLI with a fresh home and store shared by every test of one module, per backend."""
    home = tmp_path_factory.mktemp(f"home-{request.param}")
    if request.param == "sqlite":
        yield Cli(home, None)
        return
    schema = _pg_schema()
    yield _pg_cli(home, schema)
    _pg_drop(schema)


@pytest.fixture
def fresh_cli(cli, tmp_path):
    """Another empty home and store, on the same backend as ``cli``."""
    home = tmp_path / "home2"
    home.mkdir(mode=0o700)
    if cli.db is None:
        yield Cli(home, None)
        return
    schema = _pg_schema()
    yield _pg_cli(home, schema)
    _pg_drop(schema)


def store_rows(c: Cli) -> dict[str, int]:
    """Row counts of every table in the store behind ``c`` (SQLite file or PostgreSQL schema)."""
    if c.db is None:
        path = c.home / "backstory.sqlite"
        if not path.exists():
            return {}
        conn = sqlite3.connect(path)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        finally:
            conn.close()
    import psycopg

    schema = parse_qs(urlsplit(c.db).query)["schema"][0]
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{schema}"."{t}"').fetchone()[0] for t in tables}
