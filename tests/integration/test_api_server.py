"""The API on a real gunicorn server in a subprocess, over HTTP, on every configured backend."""

from __future__ import annotations

import sys
import urllib.error
import uuid
from datetime import UTC, datetime

import pytest

from tests.server_process import ServerProcess, free_port, http, server_env


def _account(store_url: str, name: str) -> dict:
    from service.accounts import create_account
    from service.application import BackstoryApp
    from service.config import parse_store

    app = BackstoryApp(parse_store(store_url).env)
    try:
        return create_account(app, name)
    finally:
        app.close()


def m(seq: int, mutation_type: str, **args) -> dict:
    return {"mutation_id": str(uuid.uuid4()), "seq": seq, "type": mutation_type,
            "occurred_at": datetime.now(UTC).isoformat(), "base_version": None, "args": args}


@pytest.fixture
def served(store_url, tmp_path):
    """``api.serve.serve`` with two workers, as ``backstory serve`` runs it."""
    account = _account(store_url, "sam")
    port = free_port()
    code = f"from api.serve import serve; serve('127.0.0.1', {port}, 2, {store_url!r})"
    server = ServerProcess([sys.executable, "-c", code], port, server_env(), tmp_path / "server.log")
    yield server, account
    server.stop()


def test_a_real_server_speaks_the_protocol(served):
    server, account = served
    token = account["token"]
    status, headers, body = http("GET", server.url + "/v1/sync/pull")
    assert status == 401 and headers["Content-Type"] == "application/problem+json"
    assert headers["WWW-Authenticate"].startswith("Bearer")

    batch = [m(1, "init", name="Sam"), m(2, "add", name="Bridge", position="1:supine", sets=3, reps=10),
             m(3, "log", exercise="Bridge", pain_before=5, pain_after=3, note="private words")]
    status, _, first = http("POST", server.url + "/v1/sync/push", {"mutations": batch}, token)
    assert status == 200 and [r["status"] for r in first["results"]] == ["applied"] * 3
    # the same batch again (a lost response), over and over, hitting both workers
    for _ in range(4):
        status, _, again = http("POST", server.url + "/v1/sync/push", {"mutations": batch}, token)
        assert status == 200 and [r["status"] for r in again["results"]] == ["duplicate"] * 3
        assert [r["result"] for r in again["results"]] == [r["result"] for r in first["results"]]

    status, _, gap = http("POST", server.url + "/v1/sync/push", {"mutations": [m(9, "break", kind="walk")]}, token)
    assert status == 409 and gap["expected_seq"] == 4

    too_big = b'{"mutations": [], "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    try:
        status, headers, body = http("POST", server.url + "/v1/sync/push", token=token, raw=too_big)
        assert status == 413 and headers["Content-Type"] == "application/problem+json"
    except (ConnectionResetError, BrokenPipeError, urllib.error.URLError):
        pass  # the server may answer 413 and close before the client finished sending

    status, _, page = http("GET", server.url + "/v1/sync/pull?limit=1000", token=token)
    assert status == 200 and not page["has_more"]
    outcomes = [e for e in page["entries"] if e["kind"] == "outcome"]
    assert sorted(e["mutation_id"] for e in outcomes) == sorted(x["mutation_id"] for x in batch)
    status, _, replay = http("GET", server.url + "/v1/sync/pull?limit=2", token=token)
    status, _, rest = http("GET", f"{server.url}/v1/sync/pull?after={replay['next_cursor']}", token=token)
    assert replay["entries"] + rest["entries"] == page["entries"]

    status, _, program = http("GET", server.url + "/v1/program", token=token)
    assert status == 200 and [e["name"] for e in program["exercises"]] == ["Bridge"]

    status, _, paired = http("POST", server.url + "/v1/devices", {"name": "tablet"}, token)
    assert status == 201
    status, _, _ = http("DELETE", f"{server.url}/v1/devices/{paired['device_id']}?confirm={paired['device_id']}",
                        token=token)
    assert status == 200
    status, _, body = http("GET", server.url + "/v1/devices", token=paired["token"])
    assert status == 403 and body["status"] == 403

    status, _, spec = http("GET", server.url + "/openapi.json")
    assert status == 200 and spec["openapi"] == "3.0.3" and "/v1/sync/push" in spec["paths"]
    status, _, ready = http("GET", server.url + "/readyz")
    assert status == 200 and ready == {"status": "ready"}

    log = server.stop()
    assert "POST /v1/sync/push 200" in log and f"device={account['device_id']}" in log
    for secret in (token, paired["token"], "private words", "Bridge", "Sam", "limit=1000", "pain"):
        assert secret not in log, secret


def test_the_wsgi_entry_runs_under_the_gunicorn_command(store_url, tmp_path):
    account = _account(store_url, "sam")
    port = free_port()
    env = {**server_env(), "BACKSTORY_DB": store_url}
    from gunicorn.config import KNOWN_SETTINGS

    extra = ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []
    server = ServerProcess([sys.executable, "-m", "gunicorn", *extra, "-c", "python:api.gunicorn_conf", "-w", "1",
                            "-b", f"127.0.0.1:{port}", "api.wsgi:app()"], port, env, tmp_path / "gunicorn.log")
    try:
        status, _, body = http("GET", server.url + "/v1/devices", token=account["token"])
        assert status == 200 and body["devices"][0]["device_id"] == account["device_id"]
    finally:
        log = server.stop()
    # backstory serve's settings (api.gunicorn_conf): its worker, and its one log format for every line
    assert "INFO gunicorn.error" in log and "Using worker: api.worker.ThreadWorker" in log, log
