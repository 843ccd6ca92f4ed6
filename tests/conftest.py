"""Test fixtures: the composition root of the test suite.

``store_url`` gives a fresh, empty store on SQLite and, when
``BACKSTORY_TEST_POSTGRES_URL`` is set, on PostgreSQL too (a schema of its own
per test, dropped afterwards). ``run_cli`` runs the real ``backstory`` command
as a subprocess in its own ``BACKSTORY_HOME``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_URL = os.environ.get("BACKSTORY_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


def _pg_schema():
    import psycopg

    schema = f"bs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def _pg_drop(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """A URL of a fresh, empty store, on each configured backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    schema = _pg_schema()
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}schema={schema}"
    _pg_drop(schema)


def open_ledger(url: str, account: str = "local"):
    """A fresh application on ``url`` and the ledger of one account's program in it."""
    from service.application import BackstoryApp, program_id_for
    from service.config import parse_store

    return BackstoryApp(parse_store(url).env).ledger(program_id_for(account))


@pytest.fixture
def ledger(store_url):
    opened = open_ledger(store_url)
    yield opened
    opened.app.close()


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


class Cli:
    """The real ``backstory`` command, run as a subprocess against one home and one store."""

    def __init__(self, home: Path, db: str | None):
        self.home = home
        self.db = db

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
        env["BACKSTORY_HOME"] = str(self.home)
        env["TZ"] = "UTC"
        if self.db:
            env["BACKSTORY_DB"] = self.db
        return env

    def __call__(self, *args: str, input: str | None = None) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=self.env(),
            input=input, timeout=120,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str) -> Result:
        r = self(*args)
        assert r.code == 0, f"backstory {' '.join(args)} failed ({r.code}): {r.err}"
        return r


@pytest.fixture
def cli(store_url, tmp_path):
    """The CLI in a fresh BACKSTORY_HOME; on PostgreSQL its store is a fresh schema."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)  # as backstory makes it: a looser one is warned about
    db = None if store_url.startswith("sqlite") else store_url
    return Cli(home, db)
