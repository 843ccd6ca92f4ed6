"""The server's output at the default log level carries no token, name, note, pain value or query string.

The package's shared server has served every security test before this one
(hostile text, forged tokens, oversized requests): its whole stdout and
stderr, as gunicorn writes them, are checked here. Every line has the one
format of the server's processes (``service.logs``: UTC time, level,
component, pid) and is one of the known shapes (gunicorn's own start-up
lines, the request line of ``api.app``: method, route template, status,
duration, device id; on PostgreSQL the follower's lines), and no token
(``bs1_...``) or any text this module sent may appear anywhere.
"""

from __future__ import annotations

import re
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from tests.security._support import Device, call, operations
from tests.security._web import DASHBOARD_ROUTES

pytestmark = pytest.mark.timeout(600)

SECRET_NAME = "Zebulon Quixote-Secretname"
SECRET_NOTE = "qqsecret note about my sciatica"
SECRET_EXERCISE = "Qqsecret Bridge"
SECRET_QUERY = "1987-07-19"  # a past date: a future since is refused (400)
SECRET_TOKEN_TEXT = "qqleaked-token-text-" + "Z" * 30
SECRETS = (SECRET_NAME, SECRET_NOTE, SECRET_EXERCISE, SECRET_QUERY, SECRET_TOKEN_TEXT, "sciatica", "Qqsecret",
           "Zebulon", "pain_before", "pain", "note", "Bearer", "bs1_", "Authorization", "mutations")

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
#: Every line of every process of the server: time, level, component, pid, message.
LINE = re.compile(rf"^{STAMP} (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) [a-z][a-z.]+ \[\d+\] \S")
DEVICE = r"(?:-|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
GUNICORN = [
    r"Starting gunicorn [\d.]+", r"Listening at: http://127\.0\.0\.1:\d+ \(\d+\)",
    r"Using worker: api\.worker\.ThreadWorker", r"Booting worker with pid: \d+", r"Handling signal: \w+",
    r"Worker exiting \(pid: \d+\)", r"Shutting down: Master", r"Control socket .*",
    r"Invalid request from ip=127\.0\.0\.1: [^'\"]*?(?: \(withheld\))?",
    r"closed a connection whose request stopped arriving \(TimeoutError\)",
]
FOLLOWER = [r"following the store's notifications \(catch-up at least every \d+ s\)", r"stopped following the store"]


def allowed_lines(routes: list[str]) -> list[re.Pattern]:
    route = "|".join(re.escape(r) for r in sorted(routes, key=len, reverse=True))
    return [
        re.compile(rf"^{STAMP} (INFO|WARNING) gunicorn\.error \[\d+\] (?:{'|'.join(GUNICORN)})$"),
        re.compile(rf"^{STAMP} INFO backstory\.api \[\d+\] (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|OTHER) "
                   rf"(?:{route}) \d{{3}} \d+\.\dms device={DEVICE}$"),
        re.compile(rf"^{STAMP} INFO backstory\.projections \[\d+\] (?:{'|'.join(FOLLOWER)})$"),
        re.compile(rf"^{STAMP} WARNING backstory\.[a-z.]+ \[\d+\] [^\n]*\b(?:[A-Z]\w+(?:Error|Exception|Busy|Timeout))$"),
    ]


def routes_of(spec: dict) -> list[str]:
    """The route templates the request line may show, as ``api.app`` writes them (``<name>``)."""
    templates = [re.sub(r"\{(\w+)\}", r"<\1>", op.path) for op in operations(spec)]
    return [*templates, *DASHBOARD_ROUTES, "/openapi.json", "/v1/...", "/?", "/?/...", "/healthz", "/readyz"]


def raw_requests(server) -> None:
    """Request lines and headers gunicorn itself refuses, each quoting a secret."""
    secret = SECRET_NOTE.replace(" ", "-").encode()
    parts = urlsplit(server.url)
    for head in (b"GET /v1/program?name=" + secret + b" HTTP/1.1 extra\r\n\r\n",
                 b"GET /v1/" + secret + b" HTTP/9.9\r\n\r\n",
                 b"G(T /v1/program?" + secret + b" HTTP/1.1\r\n\r\n",
                 b"GET /v1/program HTTP/1.1\r\nHost: x\r\nX-" + secret + b"(: 1\r\n\r\n",
                 b"GET /v1/program HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret + b"\x01\r\n\r\n",
                 b"POST /v1/sync/push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + secret + b"\r\n\r\n",
                 b"POST /v1/sync/push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + secret + b"\r\n"):
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
            conn.sendall(head)
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass


def traffic(server, spec) -> None:
    """Requests of every kind carrying the secrets: good and bad tokens, bodies, queries, paths, caps."""
    device = Device.new_account(server, SECRET_NAME)
    results = device.push_ok(device.m("init", 3, name=SECRET_NAME, timezone="UTC"),
                             device.m("add", 3, name=SECRET_EXERCISE, position="1:supine", sets=2, reps=5,
                                      reason=SECRET_NOTE),
                             device.m("log", 2, exercise=SECRET_EXERCISE, pain_before=9, pain_after=7,
                                      note=SECRET_NOTE),
                             device.m("checkin", 1, pain=8, note=SECRET_NOTE, starts="low_back"),
                             device.m("init", 1, name=SECRET_NAME),  # rejected: a program exists
                             device.m("log", 1, exercise="no such " + SECRET_EXERCISE, note=SECRET_NOTE))
    assert [r["status"] for r in results][-2:] == ["rejected", "rejected"], results
    device.get(f"/v1/exercises/{SECRET_EXERCISE.replace(' ', '%20')}/history", since=SECRET_QUERY)
    device.get("/v1/program", as_of=SECRET_QUERY, known_at=SECRET_NAME.replace(" ", ""))
    device.get("/v1/sessions", since=SECRET_QUERY, until=SECRET_NOTE)
    device.get("/v1/sync/pull", after=SECRET_TOKEN_TEXT)
    device.call("POST", "/v1/devices", body={"name": SECRET_NAME})
    device.call("POST", "/v1/devices", body={"name": SECRET_NAME + "\x01"})  # 400, quoting nothing
    device.call("DELETE", f"/v1/devices/{SECRET_NAME.replace(' ', '%20')}")
    device.call("POST", "/v1/sync/push", raw=b'{"mutations": [{"note": "' + SECRET_NOTE.encode() + b'"}]}')
    device.call("POST", "/v1/sync/push", raw=b"not json " + SECRET_NOTE.encode())
    device.call("POST", "/v1/sync/push", body={"mutations": [device.m("checkin", pain=1, note=SECRET_NOTE)],
                                               SECRET_NAME: 1})
    device.get("/v1/sync/pull", q=SECRET_NOTE * 200)  # 414
    device.call("GET", f"/{SECRET_EXERCISE.replace(' ', '-')}/{SECRET_NOTE.replace(' ', '-')}")
    device.call("GET", f"/v1/{SECRET_EXERCISE.replace(' ', '-')}?{SECRET_QUERY}")
    device.call("PUT", "/v1/sync/push", body={"note": SECRET_NOTE})
    device.call("QQSECRETMETHOD", "/v1/program")  # a method is the client's own word too
    device.call("QQSECRETMETHOD", "/nothing")
    for authorization in (f"Bearer {SECRET_TOKEN_TEXT}", f"Bearer bs1_{uuid.uuid4().hex}_{SECRET_TOKEN_TEXT}",
                          f"Basic {SECRET_TOKEN_TEXT}", f"Bearer {device.token}x", "Bearer bs1_" + "Q" * 9000):
        for op in operations(spec):
            target = op.target({name: SECRET_EXERCISE.replace(" ", "-") for name in op.path_params})
            call(server.url, op.method, target + f"?since={SECRET_QUERY}", authorization=authorization,
                 body={"name": SECRET_NAME})
    call(server.url, "GET", f"/v1/program?x={'Q' * 9000}{SECRET_QUERY}", token=device.token)  # over the line cap
    raw_requests(server)
    revoked = device.pair("to revoke")
    device.call("DELETE", f"/v1/devices/{revoked.device_id}?confirm={revoked.device_id}")
    revoked.push(revoked.m("log", exercise=SECRET_EXERCISE, note=SECRET_NOTE))
    return device


def test_the_server_log_has_only_known_lines_and_nothing_personal(server, spec, victim):
    device = traffic(server, spec)
    assert device.get("/v1/program").status == 200
    text = server.log_text()
    lines = [line for line in text.splitlines() if line.strip()]
    assert f"POST /v1/sync/push 200" in text and f"device={device.device_id}" in text
    assert "GET /v1/exercises/<exercise>/history 200" in text
    assert len(lines) > 100  # every security test's traffic is in it
    assert [line for line in lines if not LINE.match(line)] == []  # one format for every process
    patterns = allowed_lines(routes_of(spec))
    unknown = [line for line in lines if not any(p.match(line) for p in patterns)]
    assert unknown == [], unknown[:20]
    pids = {re.search(r" \[(\d+)\] ", line).group(1) for line in lines}
    components = {line.split()[2] for line in lines}
    assert len(pids) >= 2 and {"gunicorn.error", "backstory.api"} <= components  # the master's and a worker's
    if not server.db_url.startswith("sqlite"):
        assert "backstory.projections" in components  # the follower's, in the same format
    lowered = text.lower()
    found = [s for s in (*SECRETS, *victim.words, victim.phone.token, victim.tablet.token) if s.lower() in lowered]
    assert found == []
    from tests.security.test_hostile_text import BIG, HOSTILE

    assert [k for k, s in HOSTILE.items() if s in text] == [] and BIG[:40] not in text
