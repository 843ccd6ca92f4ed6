"""API fuzzing (issue 5, item 1): schemathesis against the live ``/openapi.json`` of a real server.

For each backend, ``backstory serve`` runs on a fresh, seeded store (two
accounts, devices, weeks of history) and the schemathesis CLI runs every
check it has, plus ours (``_fuzz_hooks``: every error is a proper
problem+json; a 400 to a schema-valid request names only a rule the document
cannot state; no token echoed), over every operation with: the account's
valid token (every phase, stateful included), a spare device's token (the
device routes, revoking included: the fuzzer learns device ids from the list
and may revoke itself), another account's token, no token, malformed tokens
and a revoked one. The server's own log counts the requests it answered, and
none may be a 5xx.

CI size by default; ``BACKSTORY_FUZZ_FULL=1`` runs the larger mode (about 10x
the examples), ``BACKSTORY_FUZZ_EXAMPLES=N`` sets the valid token's examples
per operation. The seed is fixed (``BACKSTORY_FUZZ_SEED``) and the example
database off, so a run is reproducible.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest
import schemathesis

from tests.conftest import BACKENDS, PG_URL, _pg_drop, _pg_schema
from tests.reliability._fuzz_hooks import problem_errors
from tests.reliability._fuzz_support import FuzzServer, http, schemathesis_run, seed

FULL = os.environ.get("BACKSTORY_FUZZ_FULL") == "1"
SEED = int(os.environ.get("BACKSTORY_FUZZ_SEED", "20261202"))
VALID_EXAMPLES = int(os.environ.get("BACKSTORY_FUZZ_EXAMPLES", "150" if FULL else "12"))
OTHER_EXAMPLES = max(3, VALID_EXAMPLES // 4)
#: Requests one backend's run must have made (CI size), so both backends together make well over 1,000.
MIN_REQUESTS = 1000
ALL_PHASES = "examples,coverage,fuzzing,stateful"
NO_STATEFUL = "examples,coverage,fuzzing"
_REQUEST_LINE = re.compile(r" backstory\.api \[\d+\] (?P<method>[A-Z]+) (?P<route>\S+) (?P<status>\d{3}) [\d.]+ms ")


@dataclass(frozen=True)
class Pass:
    """One schemathesis run: which credentials, how many examples, which phases, which operations."""

    name: str
    examples: int
    phases: str
    extra: tuple[str, ...] = ()


def _passes() -> list[Pass]:
    return [
        # The fuzzer would revoke the account's own device (it reads device ids from GET /v1/devices):
        # DELETE runs with the spare device's token instead.
        Pass("valid", VALID_EXAMPLES, ALL_PHASES, ("--exclude-method", "DELETE")),
        Pass("spare", VALID_EXAMPLES, ALL_PHASES, ("--include-path-regex", "^/v1/devices")),
        Pass("other-account", OTHER_EXAMPLES, ALL_PHASES),
        Pass("no-token", OTHER_EXAMPLES, NO_STATEFUL),
        Pass("malformed", OTHER_EXAMPLES, NO_STATEFUL),
        Pass("not-bearer", 2, "examples,coverage"),
        Pass("revoked", OTHER_EXAMPLES, NO_STATEFUL),
    ]


def _authorizations(server: FuzzServer, seeded) -> dict[str, str | None]:
    status, _, spare = http("POST", server.url + "/v1/devices", {"name": "spare"}, seeded.token)
    assert status == 201, spare
    return {"valid": f"Bearer {seeded.token}", "spare": f"Bearer {spare['token']}",
            "other-account": f"Bearer {seeded.other_token}", "no-token": None,
            "malformed": "Bearer bs1_" + "0" * 32 + "_not-a-real-secret-at-all-xxxxxxxxxxxxxxxxxxx",
            "not-bearer": "Basic c2FtOnNlY3JldA==", "revoked": f"Bearer {seeded.revoked_token}"}


def _requests(log: str) -> list[tuple[str, str, int]]:
    return [(m["method"], m["route"], int(m["status"])) for m in _REQUEST_LINE.finditer(log)]


def _failures(run) -> str:
    lines = run.output.splitlines()
    start = next((i for i, line in enumerate(lines) if "FAILURES" in line), max(0, len(lines) - 60))
    return "\n".join(line[:300] for line in lines[start:start + 120])


@pytest.mark.timeout(1800 if FULL else 600)
def test_schemathesis_finds_no_failure_on_any_operation(store_url, tmp_path, capsys):
    server = FuzzServer(store_url, tmp_path / "server.log")
    try:
        seeded = seed(server, store_url)
        authorizations = _authorizations(server, seeded)
        runs, still = [], None
        for p in _passes():
            runs.append(schemathesis_run(server.url, tmp_path, p.name, authorizations[p.name],
                                         max_examples=p.examples, phases=p.phases, seed=SEED, extra=p.extra))
            if still is None:  # after the valid run; the spare device's run may revoke every device
                still = http("GET", server.url + "/v1/devices", token=seeded.token)[0]
    finally:
        log = server.stop()
    for run in runs:
        assert run.report.get("complete") and run.returncode == 0, f"schemathesis {run.name}:\n{_failures(run)}"
        assert not run.report.get("failures") and not run.report.get("errors"), f"{run.name}:\n{_failures(run)}"
        assert run.report["operations"]["tested"] == run.report["operations"]["selected"] > 0, run.report["operations"]
    operations = runs[0].report["operations"]
    assert operations["tested"] == operations["total"] - 1  # every operation but DELETE, which "spare" covers
    assert still == 200, "the valid token was revoked during its own run: the run tested little"

    requests = _requests(log)
    cases = sum(run.cases for run in runs)
    with capsys.disabled():
        backend = store_url.split(":", 1)[0]
        print(f"\nfuzz {backend}: {cases} schemathesis test cases, {len(requests)} requests answered "
              f"({', '.join(f'{r.name} {r.cases}' for r in runs)})")
    assert len(requests) >= MIN_REQUESTS and cases >= MIN_REQUESTS // 2, (len(requests), cases)
    assert not [r for r in requests if r[2] >= 500], "5xx answered"
    for sign in ("Traceback", "unhandled", "WORKER TIMEOUT", "Exception in worker", "exited with code"):
        assert sign not in log, sign
    ok_reads = [r for r in requests if r[2] == 200 and r[1].startswith("/v1/")]
    assert len(ok_reads) >= 50, "too few requests reached the data: the valid token's run tested little"


# ----- what schemathesis does not send: unknown routes, odd methods and media types, caps -----------


@pytest.fixture(scope="module", params=BACKENDS)
def live(request, tmp_path_factory):
    """One seeded server per backend for the checks below (they change nothing the others read)."""
    tmp = tmp_path_factory.mktemp(f"fuzz-live-{request.param}")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'store.sqlite'}"
    else:
        schema = _pg_schema()
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"
    server = FuzzServer(url, tmp / "server.log")
    try:
        yield server, seed(server, url)
    finally:
        server.stop()
        if schema:
            _pg_drop(schema)


def _raw(url: str, method: str, path: str, token: str | None = None, body: bytes | None = None,
         content_type: str | None = None) -> tuple[int, dict, bytes]:
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_errors_outside_the_document_are_problems_too(live):
    server, seeded = live
    token = seeded.token
    cases = [
        ("GET", "/nowhere", None, None, None, 404),
        ("GET", "/v1/nowhere", token, None, None, 404),
        ("GET", "/v1/devices/", token, None, None, 404),
        ("PATCH", "/v1/sync/push", token, b"{}", "application/json", 405),
        ("PUT", "/healthz", None, None, None, 405),
        ("DELETE", "/v1/program", token, None, None, 405),
        ("POST", "/v1/sync/push", token, b"mutations=1", "application/x-www-form-urlencoded", 415),
        ("POST", "/v1/devices", token, b"name=x", "text/plain", 415),
        ("POST", "/v1/sync/push", token, b'{"mutations": [', "application/json", 400),
        ("POST", "/v1/sync/push", token, b'{"mutations": []} trailing', "application/json", 400),
        ("POST", "/v1/devices", token, b'{"name": NaN}', "application/json", 400),
        ("POST", "/v1/devices", token, b"\xff\xfe", "application/json", 400),
        ("GET", "/v1/program?as_of=" + "9" * 5000, token, None, None, 414),
        ("GET", "/v1/program?as_of=2026-02-30", token, None, None, 400),
        ("GET", "/v1/recap?until=0001-01-01", token, None, None, 400),  # before 1900: out of the one range
        ("GET", "/v1/recap?until=9999-12-31", token, None, None, 200),
        ("GET", "/v1/sessions?since=1900-01-01&until=9999-12-31", token, None, None, 200),
        ("GET", "/v1/day?date=9999-12-31", token, None, None, 200),  # the last day there is: nothing, no overflow
        ("GET", "/v1/day?date=1900-01-01", token, None, None, 200),
        ("GET", "/v1/day?date=1899-12-31", token, None, None, 400),
        ("GET", "/v1/breaks?until=9999-12-31", token, None, None, 200),
        ("GET", "/v1/breaks?since=1900-01-01&until=9999-12-31", token, None, None, 400),  # over MAX_RECAP_DAYS
        ("GET", "/v1/sessions?since=0001-01-01", token, None, None, 400),  # before year 1 in UTC (Paris LMT)
        ("GET", "/v1/program?as_of=9999-12-31T23:59:59-12:00", token, None, None, 400),
        ("GET", "/v1/devices?x=1", token, None, None, 400),
        ("GET", "/healthz?x=1", None, None, None, 400),
        ("POST", "/v1/devices", token, b'{"name": "a"}' + b" " * (1024 * 1024), "application/json", 413),
    ]
    for method, path, auth, body, content_type, expected in cases:
        status, headers, content = _raw(server.url, method, path, auth, body, content_type)
        assert status == expected, (method, path[:60], status, content[:300])
        if status >= 400:
            wrong = problem_errors(status, headers.get("Content-Type", ""), content)
            assert not wrong, (method, path[:60], wrong)
        if status == 405:
            assert headers.get("Allow"), (method, path)


def _socket(port: int, raw: bytes) -> tuple[int, dict, bytes]:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


#: Requests gunicorn refuses before the app sees them (its limits are in ``api.serve``).
UNREADABLE = [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad\x01name: y\r\n\r\n", 400),
    (b"GET /v1/program?q=" + b"z" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /v1/program HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bs1_" + b"A" * 9000 + b"\r\n\r\n", 431),
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
]


def test_requests_http_itself_refuses_are_problems_that_quote_nothing(live):
    server, _ = live
    for raw, expected in UNREADABLE:
        status, headers, body = _socket(server.port, raw)
        assert status == expected, (raw[:40], status, body[:300])
        assert not problem_errors(status, headers.get("Content-Type", ""), body), body[:300]
        assert b"AAAA" not in body and b"zzzz" not in body and b"X-Bad" not in body


# ----- the document itself ---------------------------------------------------------------------------


def test_the_live_document_lists_every_status_and_body(live):
    server, _ = live
    status, _, spec = http("GET", server.url + "/openapi.json")
    assert status == 200
    from openapi_spec_validator import validate

    validate(spec)
    problem = {"$ref": "#/components/schemas/Problem"}
    responses = spec["components"]["responses"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            codes = set(op["responses"])
            assert "default" not in codes, (method, path)
            need = {"400", "414"} | ({"401", "403", "413", "429", "503"} if path.startswith("/v1/") else set())
            if method == "post":
                need |= {"413", "415"}
            assert need <= codes, (method, path, sorted(need - codes))
            if method == "post":
                assert op["requestBody"]["content"]["application/json"]["schema"], (method, path)
            for code, response in op["responses"].items():
                if int(code) >= 400:
                    body = responses[response["$ref"].rsplit("/", 1)[1]] if "$ref" in response else response
                    assert body["content"]["application/problem+json"]["schema"] == problem, (method, path, code)
                else:
                    assert response["content"]["application/json"]["schema"], (method, path, code)
    assert responses["TOO_MANY_REQUESTS"]["headers"]["Retry-After"]["required"] is True
    assert responses["UNAUTHORIZED"]["headers"]["WWW-Authenticate"]["required"] is True


def test_a_rate_limited_answer_is_the_documented_429(store_url, tmp_path):
    """The fuzz server runs without the rate limit; with it, 429 is what the document says it is."""
    from api.app import create_app

    app = create_app({"DATABASE_URL": store_url, "RATE_LIMIT": 1, "RATE_BURST": 3})
    try:
        schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
        client = app.test_client()
        answers = [client.get("/v1/devices", headers={"Authorization": "Bearer bs1_bad"}) for _ in range(6)]
        limited = [a for a in answers if a.status_code == 429]
        assert limited and [a.status_code for a in answers[:3]] == [401] * 3
        operation = schema["/v1/devices"]["GET"]
        for answer in limited:
            assert answer.headers["Retry-After"].isdigit()
            assert not problem_errors(429, answer.headers["Content-Type"], answer.data)
            operation.validate_response(answer)
    finally:
        app.extensions["backstory"].close()
