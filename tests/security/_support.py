"""Support of the security tests (no tests here): a real server process, raw HTTP, accounts, the stored rows.

``Server`` is ``python -m cli --db URL serve --port P`` (gunicorn) in its own
process group, its stdout and stderr kept in a file at the default log level.
``call`` is one HTTP request through ``http.client``, so a test controls every
header and byte (a malformed ``Authorization``, a raw body, a long query
string). ``Device`` is one device's side of the protocol (its token, its seq
counter). ``operations`` lists the live OpenAPI document's operations and
``example_body`` builds a valid-looking body from a request schema, so a new
endpoint is covered by the tests without being named in them. ``dump`` is
every row of every table of the store as text.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tests.server_process import ServerProcess, free_port, serve_command, server_env

PROBLEM = "application/problem+json"
HTTP_TIMEOUT = 60
VERBS = ("get", "post", "put", "patch", "delete")


# ----- HTTP --------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One HTTP answer; ``status`` 0 when the connection failed before a reply was read."""

    status: int
    headers: dict[str, str]
    body: bytes
    error: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def mimetype(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.mimetype} {self.text[:300]!r}>"


def call(base: str, method: str, target: str, *, token: str | None = None, authorization: Any = None,
         body: Any = None, raw: bytes | None = None, content_type: str = "application/json",
         headers: dict[str, str] | None = None, timeout: float = HTTP_TIMEOUT) -> Reply:
    """``method target`` (a path with its query) on the server at ``base``; never raises on an HTTP status.

    ``authorization`` is the header's raw value (text or bytes), or a list of them to send the header repeatedly.
    """
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode("utf-8"))
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        sent = {"Connection": "close", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if data is not None:
            sent.setdefault("Content-Type", content_type)
            sent["Content-Length"] = str(len(data))
        for key, value in sent.items():
            conn.putheader(key, value)
        for value in authorization if isinstance(authorization, (list, tuple)) else [authorization]:
            if value is not None:
                conn.putheader("Authorization", value)
        conn.endheaders()
        if data is not None:
            try:
                conn.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer (413) and close before the whole body was sent
        resp = conn.getresponse()
        headers: dict[str, str] = {}
        for key, value in resp.getheaders():  # a repeated header (Set-Cookie) keeps every value, a line each
            key = key.lower()
            headers[key] = f"{headers[key]}\n{value}" if key in headers else value
        return Reply(resp.status, headers, resp.read())
    except (OSError, http.client.HTTPException) as e:
        return Reply(0, {}, b"", f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def assert_problem(reply: Reply, *statuses: int, field: str | None = None) -> dict:
    """A problem+json answer with one of ``statuses``, naming ``field`` when given; its body."""
    assert reply.status in statuses, reply
    assert reply.mimetype == PROBLEM, reply
    problem = reply.json()
    assert problem["status"] == reply.status and problem["title"] and problem["detail"], problem
    if field is not None:
        assert field in (problem.get("errors") or {}), (field, problem)
    return problem


# ----- the server --------------------------------------------------------------------------------


#: The operator's token of every test server (``/readyz`` shows the projections' lag only to it).
OPERATOR_TOKEN = "test-operator-" + "o" * 20


class Server(ServerProcess):
    """``python -m cli --db URL serve --port P`` in its own process group, ready once ``/readyz`` answers."""

    def __init__(self, db_url: str, tmp: Path, env: dict[str, str] | None = None, workers: int = 1,
                 name: str = "server", args: tuple[str, ...] = ()):
        self.db_url = db_url
        port = free_port()
        home = tmp / f"{name}-home"
        home.mkdir(exist_ok=True)
        super().__init__([*serve_command(db_url, port, workers), *args], port,
                         server_env(home, {"BACKSTORY_OPERATOR_TOKEN": OPERATOR_TOKEN, **(env or {})}),
                         tmp / f"{name}.log", ready="/readyz")

    def lag(self) -> int | None:
        """The projections' lag, as ``/readyz`` shows it to the operator."""
        reply = call(self.url, "GET", "/readyz", token=OPERATOR_TOKEN)
        assert reply.status == 200, reply
        return reply.json()["lag"]


# ----- accounts and devices ----------------------------------------------------------------------


def create_account(db_url: str, name: str) -> dict:
    """``{"account_id", "device_id", "token"}`` of a new account, made in the server's store as the CLI does."""
    from service.accounts import create_account as create
    from service.application import open_app

    app = open_app(db_url)
    try:
        return create(app, name)
    finally:
        app.close()


def mutation(seq: int, mutation_type: str, days_ago: float = 0.0, base_version: int | None = None,
             **args: Any) -> dict:
    return {"mutation_id": str(uuid.uuid4()), "seq": seq, "type": mutation_type,
            "occurred_at": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
            "base_version": base_version, "args": args}


@dataclass
class Device:
    """One device of an account, talking to a server over HTTP with its own token and seq counter."""

    base: str
    token: str
    device_id: str
    account_id: str
    seq: int = 0
    sent: list[dict] = field(default_factory=list)

    @classmethod
    def new_account(cls, server: Server, name: str) -> Device:
        made = create_account(server.db_url, name)
        return cls(server.url, made["token"], made["device_id"], made["account_id"])

    def m(self, mutation_type: str, days_ago: float = 0.0, base_version: int | None = None, **args: Any) -> dict:
        self.seq += 1
        made = mutation(self.seq, mutation_type, days_ago, base_version, **args)
        self.sent.append(made)
        return made

    def call(self, method: str, target: str, **kwargs: Any) -> Reply:
        return call(self.base, method, target, token=self.token, **kwargs)

    def get(self, path: str, **query: Any) -> Reply:
        target = path + ("?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items()) if query else "")
        return self.call("GET", target)

    def push(self, *mutations: dict) -> Reply:
        return self.call("POST", "/v1/sync/push", body={"mutations": list(mutations)})

    def push_ok(self, *mutations: dict) -> list[dict]:
        reply = self.push(*mutations)
        assert reply.status == 200, reply
        return reply.json()["results"]

    def pair(self, name: str) -> Device:
        reply = self.call("POST", "/v1/devices", body={"name": name})
        assert reply.status == 201, reply
        made = reply.json()
        return Device(self.base, made["token"], made["device_id"], self.account_id)

    def pull_all(self, limit: int = 1000) -> tuple[list[dict], str]:
        entries: list[dict] = []
        after = ""
        while True:
            reply = self.get("/v1/sync/pull", **({"after": after} if after else {}), limit=limit)
            assert reply.status == 200, reply
            page = reply.json()
            entries += page["entries"]
            after = page["next_cursor"]
            if not page["has_more"]:
                return entries, after


def token_secret(token: str) -> str:
    return token.split("_", 2)[2]


def secret_forms(token: str) -> list[str]:
    """Every text form a token's secret could take in a store: itself, the whole token, its bytes in hex."""
    secret = token_secret(token)
    raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    return [token, secret, binascii.hexlify(raw).decode()]


# ----- the OpenAPI document ----------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # with {name} placeholders
    path_params: tuple[str, ...]
    body_schema: dict | None
    secured: bool

    def target(self, values: dict[str, str]) -> str:
        path = self.path
        for name in self.path_params:
            path = path.replace("{" + name + "}", quote(values[name], safe=""))
        return path

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations(spec: dict) -> list[Operation]:
    """Every operation of an OpenAPI 3 document."""
    found = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in VERBS:
                continue
            params = [*shared, *op.get("parameters", [])]
            names = tuple(p["name"] for p in params if p.get("in") == "path")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            secured = bool(op.get("security", spec.get("security")))
            found.append(Operation(method.upper(), path, names, body, secured))
    return found


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example_body(spec: dict, schema: dict, overrides: dict[str, Any] | None = None) -> Any:
    """The smallest instance of ``schema`` with every required property; ``overrides`` by property name."""
    overrides = overrides or {}
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        out = {}
        for name in schema.get("required", []):
            out[name] = overrides[name] if name in overrides else example_body(
                spec, schema.get("properties", {}).get(name, {}), overrides)
        return out
    if kind == "array":
        return [example_body(spec, schema.get("items", {}), overrides)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    formats = {"uuid": lambda: str(uuid.uuid4()), "date-time": lambda: datetime.now(UTC).isoformat(),
               "date": lambda: datetime.now(UTC).date().isoformat()}
    if schema.get("format") in formats:
        return formats[schema["format"]]()
    return "x" * max(int(schema.get("minLength", 1)), 1)


# ----- the store's rows --------------------------------------------------------------------------


def _pg_schema(db_url: str) -> str | None:
    return (parse_qs(urlsplit(db_url).query).get("schema") or [None])[0]


def _as_text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        return f"{bytes(value).decode('utf-8', 'replace')} {bytes(value).hex()}"
    return str(value)


def table_rows(db_url: str) -> dict[str, list[tuple]]:
    """Every row of every table of the store (a SQLite file or one PostgreSQL schema)."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.split("///", 1)[1])
        try:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in names}
        finally:
            conn.close()
    import psycopg

    schema = _pg_schema(db_url) or "public"
    base = db_url.split("?", 1)[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))]
        return {t: conn.execute(f'SELECT * FROM "{schema}"."{t}"').fetchall() for t in names}


def dump(db_url: str) -> str:
    """Every value of every row of every table, as text (bytes both decoded as UTF-8 and in hex)."""
    lines = []
    for table, rows in sorted(table_rows(db_url).items()):
        for row in rows:
            lines.append(f"{table}: " + " | ".join(_as_text(v) for v in row))
    return "\n".join(lines)


def row_counts(db_url: str) -> dict[str, int]:
    return {table: len(rows) for table, rows in table_rows(db_url).items()}


def request_parts(spec: dict, op: Operation, values: dict[str, str], overrides: dict[str, Any] | None = None
                  ) -> tuple[str, str, Any]:
    """``(method, target, body)`` of a valid-looking request of ``op``, path parameters from ``values``."""
    body = None if op.body_schema is None else example_body(spec, op.body_schema, overrides)
    return op.method, op.target(values), body


def leaks(reply: Reply, secrets: list[str]) -> list[str]:
    """The ``secrets`` found in a reply's body or headers (case-insensitive)."""
    seen = (reply.text + "\n" + "\n".join(f"{k}: {v}" for k, v in reply.headers.items())).lower()
    return [s for s in secrets if s and s.lower() in seen]
