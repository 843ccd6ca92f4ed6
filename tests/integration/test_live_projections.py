"""On PostgreSQL the read models follow the store live: no read is needed for them to catch up.

``backstory projections follow`` is a process of its own; ``backstory serve`` starts one beside its
workers and stops it with them. Lag is read with ``Projections.status()``, which never catches up.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from projections import Projections
from service.accounts import create_account
from service.application import BackstoryApp
from service.config import parse_store
from tests.conftest import PG_URL, _pg_drop, _pg_schema
from tests.integration.test_api_support import mutation


@pytest.fixture
def pg_url():
    if not PG_URL:
        pytest.skip("needs BACKSTORY_TEST_POSTGRES_URL")
    schema = _pg_schema()
    yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"
    _pg_drop(schema)


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
    return {**env, "BACKSTORY_DB": url}


def _lag(app: BackstoryApp, url: str) -> int:
    projections = Projections(app, url)
    try:
        return max(p["lag"] for p in projections.status())
    finally:
        projections.close()


def _wait_caught_up(app: BackstoryApp, url: str, timeout: float = 60.0) -> None:
    start = time.monotonic()
    while (lag := _lag(app, url)) > 0:
        assert time.monotonic() - start < timeout, f"the read models still lag by {lag} events"
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_follower_process_keeps_the_read_models_current(pg_url):
    app = BackstoryApp(parse_store(pg_url).env)
    follower = subprocess.Popen([sys.executable, "-m", "cli", "projections", "follow"], env=_env(pg_url),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        create_account(app, "sam")  # written by "another server process": this test's own app
        _wait_caught_up(app, pg_url)
        create_account(app, "alex")  # and again, later: it keeps following
        _wait_caught_up(app, pg_url)
        assert follower.poll() is None, "the follower stopped"
    finally:
        follower.terminate()
        out = follower.communicate(timeout=20)[0].decode()
        app.close()
    assert follower.returncode == 0, out


def test_serve_starts_a_follower_and_stops_it(pg_url):
    app = BackstoryApp(parse_store(pg_url).env)
    made = create_account(app, "sam")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], env=_env(pg_url),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.1)
        body = {"mutations": [mutation(1, "init", 2, name="Sam"),
                              mutation(2, "add", 1, name="Bridge", position="1:supine", sets=3, reps=8),
                              mutation(3, "log", 0.5, exercise="Bridge", pain_before=4, pain_after=2)]}
        request = urllib.request.Request(base + "/v1/sync/push", data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {made['token']}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            assert {r["status"] for r in json.load(reply)["results"]} == {"applied"}
        _wait_caught_up(app, pg_url)  # nobody read: the follower did it
        followers = _followers_of(server.pid)
        assert len(followers) == 1, followers
    finally:
        server.terminate()
        server.communicate(timeout=30)
        app.close()
    for _ in range(100):
        if not any(_alive(pid) for pid in followers):
            break
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in followers), "the follower outlived the server"


def _followers_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except OSError:
            continue
        if parent == pid and b"follow" in cmdline:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_following_a_sqlite_store_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "cli", "projections", "follow"], capture_output=True, text=True,
                          env=_env(f"sqlite:///{tmp_path / 'store.sqlite'}"), timeout=60)
    assert done.returncode == 1
    assert "needs PostgreSQL" in done.stderr
