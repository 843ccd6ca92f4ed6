"""On PostgreSQL the read models follow the store live: no read is needed for them to catch up."""

from __future__ import annotations

import time

import pytest

from service.application import BackstoryApp
from service.config import parse_store
from tests.conftest import PG_URL, _pg_drop, _pg_schema
from tests.integration.test_api_support import Client, fresh_app


def lag(flask_app) -> int:
    return max(p["lag"] for p in flask_app.extensions["backstory"].projections.status())


def wait_caught_up(flask_app, timeout: float = 30.0) -> float:
    start = time.monotonic()
    while lag(flask_app) > 0:
        assert time.monotonic() - start < timeout, f"the read models still lag by {lag(flask_app)}"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def pg_url():
    if not PG_URL:
        pytest.skip("needs BACKSTORY_TEST_POSTGRES_URL")
    schema = _pg_schema()
    yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"
    _pg_drop(schema)


@pytest.fixture
def pg_app(pg_url):
    flask_app = fresh_app(pg_url)
    yield flask_app
    flask_app.extensions["backstory"].close()


def test_a_push_reaches_the_read_models_without_a_read(pg_app):
    sam = Client.new_account(pg_app, "sam")
    r = sam.push(sam.m("init", 3, name="Sam"), sam.m("add", 2, name="Bridge", position="1:supine", sets=3, reps=8),
                 sam.m("log", 1, exercise="Bridge", pain_before=4, pain_after=2))
    assert r.status_code == 200
    wait_caught_up(pg_app)
    assert pg_app.extensions["backstory"].follower.catch_ups >= 1


def test_writes_of_another_process_are_followed(pg_app, pg_url):
    other = BackstoryApp(parse_store(pg_url).env)  # another server process's store, in effect
    try:
        from service.accounts import create_account

        create_account(other, "alex")
    finally:
        other.close()
    wait_caught_up(pg_app)
    devices = pg_app.extensions["backstory"].projections.status()
    assert all(p["position"] > 0 for p in devices)


def test_sqlite_apps_do_not_follow(tmp_path):
    flask_app = fresh_app(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        assert flask_app.extensions["backstory"].follower is None
    finally:
        flask_app.extensions["backstory"].close()
