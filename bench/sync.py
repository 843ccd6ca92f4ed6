"""Benchmark: sync push and pull over HTTP against the real server, each next to its baseline.

    python bench/sync.py [--facts 10000] [--pull 50000] [--db URL] [--json] [--quick]
                         [--days 60] [--repeats 3] [--seed S]

All in one run, on one backend (a SQLite file in a temporary directory by
default; ``--db postgresql://USER@HOST:PORT/DB?schema=NAME`` creates that
schema, plus ``NAME_raw1``/``NAME_raw2`` for the baseline, and drops them at the end):

1. Starts the real server as a subprocess (``python -m cli --db URL serve
   --port P``, one gunicorn worker) and waits for ``/healthz``. The account is
   made in-process with ``service.accounts.create_account`` against the same
   store; a first push carries ``init`` and ``add``.
2. Push: ``--facts`` facts (70% ``log`` with pain and tension, 15% ``break``,
   15% ``checkin``; occurred_at spread over the last ~2 months, about 5%
   backdated by up to 3 days) in batches of 500 over one keep-alive
   ``http.client`` connection. The request bodies are encoded before the clock
   starts. ``push_per_s`` is facts / total wall time of the batches;
   ``push_batch_p50_ms``/``p99_ms`` are per-batch latencies. Every result must
   be ``applied``. ``server_peak_rss_mb`` is the largest ``VmHWM`` of the
   server's processes (gunicorn master and worker) read right after the push.
3. Baseline ``raw_append_per_s``: the same events (a ``FactLog`` event and a
   ``MutationRecord.Processed`` per fact, the month ``FactLog.Opened`` events,
   and the device's ``BatchAccepted`` per batch) made in memory through the
   domain (``FactLog.open/record``, ``MutationRecord.processed``,
   ``Device.accept``) and saved with ``BackstoryApp.save(*aggregates)`` per
   batch of 500 on a fresh store of the same backend. Only the ``save`` calls
   are timed (building the events is reported on its own). It runs twice, once
   before and once after the HTTP push, each on its own fresh store; the
   faster run is the baseline, so a noisy neighbour can only lower the ratio.
   ``push_ratio = push_per_s / raw_append_per_s``.
4. Pull: more facts are pushed (untimed) until the account's feed holds at
   least ``--pull`` entries (each fact gives an event and an outcome entry).
   ``--repeats`` (3) freshly paired devices (``POST /v1/devices``) each pull
   ``GET /v1/sync/pull?after=&limit=1000`` from the start until ``has_more``
   is false; ``pull_per_s`` is entries / median wall time, JSON decoding
   included. Baseline ``sql_select_per_s``: one plain ``SELECT`` of the same
   rows of the projections' feed table (``proj_feed``, by ``program_id``
   ordered by ``position``) through SQLAlchemy, every row fetched and its JSON
   decoded, run after each pull (interleaved, median).
   ``pull_ratio = pull_per_s / sql_select_per_s``.
5. Prints a table, or with ``--json`` one JSON object on stdout (progress on stderr).

``--quick``: 2,000 facts and 10,000 pulled entries (well under 2 minutes on 2 cores).
The server is always stopped at the end, also on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from domain.accounts import Device
from domain.facts import FactLog, month_of, validate
from domain.mutations import MutationRecord
from service import args as argspec
from service.accounts import create_account, token_hash
from service.application import BackstoryApp, program_id_for
from service.config import parse_store
from service.mutation import derived_id

BATCH = 500
PULL_PAGE = 1000
EXERCISES = ("Dead bug", "Bird dog", "Glute bridge")
MUSCLES = ("paraspinals", "multifidus", "quadratus_lumborum", "hip_flexors", "glutes", "gluteus_medius",
           "obliques", "hamstrings")
SIDES = ("left", "right", "both")
TENSION_KINDS = ("overactive", "underactive", "guarding", "cramping")
BREAK_KINDS = ("stand", "walk", "extend", "rotate", "reset")
REGIONS = ("low_back", "mid_back", "left_buttock", "right_buttock", "left_hip", "right_hip", "left_thigh",
           "right_thigh")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ----- the workload ------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class Workload:
    """Deterministic mutations for one device: ``init``, ``add``s, then facts with contiguous seqs."""

    def __init__(self, seed: int, end: datetime, days: float = 60.0):
        self.rng = random.Random(seed)
        self.end = end
        self.days = days
        self.seq = 0

    def _mid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _mutation(self, type_: str, occurred_at: datetime, args: dict, base_version: int | None = None) -> dict:
        self.seq += 1
        return {"mutation_id": self._mid(), "seq": self.seq, "type": type_, "occurred_at": _iso(occurred_at),
                "base_version": base_version, "args": args}

    def setup(self) -> list[dict]:
        start = self.end - timedelta(days=self.days + 5)
        out = [self._mutation("init", start, {"name": "bench", "timezone": "Europe/Paris"}, 0)]
        for i, name in enumerate(EXERCISES):
            out.append(self._mutation("add", start + timedelta(minutes=i + 1),
                                      {"name": name, "kind": "segmental_control", "position": "1:supine",
                                       "sets": 3, "reps": 8}, i + 1))
        return out

    def facts(self, n: int) -> list[dict]:
        rng = self.rng
        start = self.end - timedelta(days=self.days)
        step = timedelta(days=self.days) / max(n, 1)
        out = []
        for i in range(n):
            at = start + step * i + timedelta(seconds=rng.uniform(0, step.total_seconds()))
            if rng.random() < 0.05:  # logged later: lands out of valid-time order
                at -= timedelta(hours=rng.uniform(1, 72))
            at = at.replace(microsecond=0).astimezone(timezone(timedelta(hours=rng.choice((1, 2)))))
            roll = rng.random()
            if roll < 0.70:
                args: dict[str, Any] = {
                    "exercise": rng.choice(EXERCISES), "sets": rng.randint(1, 4), "reps": rng.randint(5, 12),
                    "pain_before": rng.randint(0, 6), "pain_during": rng.randint(0, 7),
                    "pain_after": rng.randint(0, 6), "effort": rng.randint(2, 8),
                    "tension": [{"muscle": rng.choice(MUSCLES), "side": rng.choice(SIDES),
                                 "kind": rng.choice(TENSION_KINDS), "intensity": rng.randint(1, 8)}
                                for _ in range(rng.randint(0, 3))],
                }
                if rng.random() < 0.2:
                    args["note"] = "felt it on the left side after the third set"
                out.append(self._mutation("log", at, args))
            elif roll < 0.85:
                out.append(self._mutation("break", at, {"kind": rng.choice(BREAK_KINDS),
                                                        "seconds": rng.randint(30, 300)}))
            else:
                args = {"pain": rng.randint(0, 8), "starts": rng.choice(REGIONS),
                        "travels": rng.sample(REGIONS, rng.randint(0, 2))}
                if rng.random() < 0.3:
                    args["note"] = "stiff in the morning"
                out.append(self._mutation("checkin", at, args))
        return out


def batches(items: list, size: int = BATCH) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# ----- stores ------------------------------------------------------------------------------------


def _with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query["schema"] = [schema]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


class Stores:
    """The server's store and the baseline's fresh stores, on one backend; all removed at the end."""

    def __init__(self, url: str | None):
        self.tmp = tempfile.mkdtemp(prefix="backstory-bench-sync-")
        self.schemas: list[str] = []
        if url is None:
            url = f"sqlite:///{self.tmp}/server.sqlite"
        self.url = url
        store = parse_store(url)
        self.env = store.env
        self.backend = "sqlite" if store.is_sqlite else "postgresql"
        if not store.is_sqlite:
            schema = self.env.get("POSTGRES_SCHEMA")
            if not schema:
                raise SystemExit("bench: give the PostgreSQL URL a ?schema=NAME of its own; it is dropped at the end")
            self._create(schema)

    def _pg(self):
        import psycopg

        e = self.env
        return psycopg.connect(dbname=e["POSTGRES_DBNAME"], host=e["POSTGRES_HOST"], port=int(e["POSTGRES_PORT"]),
                               user=e["POSTGRES_USER"], password=e["POSTGRES_PASSWORD"] or None, autocommit=True)

    def _create(self, schema: str) -> None:
        if '"' in schema:
            raise SystemExit(f"bench: schema name {schema!r} may not contain a double quote")
        with self._pg() as conn:
            exists = conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone()
            if exists:
                raise SystemExit(f"bench: schema {schema!r} already exists; give a new one (it is dropped at the end)")
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)

    def fresh(self, name: str) -> str:
        """The URL of a new, empty store of the same backend."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp}/{name}.sqlite"
        schema = f"{self.env['POSTGRES_SCHEMA']}_{name}"
        self._create(schema)
        return _with_schema(self.url, schema)

    def accounts(self, prefix: str, n: int) -> tuple[list[dict], str]:
        """``n`` accounts made in this store as ``backstory account create`` makes them (named ``prefix 1``..),
        and the name of the store's events table."""
        app = BackstoryApp(self.env)
        try:
            return [create_account(app, f"{prefix} {i + 1}") for i in range(n)], app.recorder.events_table_name
        finally:
            app.close()

    def close(self) -> None:
        if self.schemas:
            try:
                with self._pg() as conn:
                    for schema in self.schemas:
                        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            except Exception as e:  # noqa: BLE001 - say so, and still remove the temporary directory
                log(f"bench: could not drop schemas {self.schemas}: {e}")
        shutil.rmtree(self.tmp, ignore_errors=True)


# ----- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """``python -m cli --db URL serve --port P [--workers N]`` in its own process group; always stopped by ``stop``."""

    def __init__(self, url: str, logdir: str, workers: int = 1, name: str = "server"):
        self.port = free_port()
        self.workers = workers
        self.logpath = Path(logdir) / f"{name}.log"
        self.logfile = open(self.logpath, "wb")  # noqa: SIM115 - closed by stop()
        # Its own BACKSTORY_HOME, so nothing of the user's home is touched.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "BACKSTORY_HOME": str(Path(logdir) / "home")}
        env.pop("BACKSTORY_DB", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "--db", url, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             *(["--workers", str(workers)] if workers != 1 else [])],
            cwd=ROOT, env=env, stdout=self.logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logpath.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 90.0) -> float:
        started = time.perf_counter()
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.perf_counter() - started
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s:\n{self.tail()}")

    def peak_rss_mb(self) -> tuple[float, float]:
        """The largest VmHWM of the server's processes, and their sum, in MB."""
        hwm = [_status_kb(p, "VmHWM") for p in _tree(self.proc.pid)]
        return max(hwm, default=0) / 1024, sum(hwm) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group this benchmark started (start_new_session)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self.logfile.close()


class Client:
    """One keep-alive HTTP connection with a device token."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.rate_limited = 0

    def call(self, method: str, path: str, body: bytes | None = None) -> Any:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        reconnected = False
        while True:
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                if reconnected:
                    raise
                reconnected = True
                continue
            if response.status != 429:
                break
            # The per-device rate limit (api.limits.RATE_LIMIT): wait as told; the wait counts in the timing.
            self.rate_limited += 1
            time.sleep(float(response.getheader("Retry-After") or 1))
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{method} {path.split('?')[0]} answered {response.status}: {data[:600]!r}")
        return json.loads(data)

    def push(self, body: bytes) -> dict:
        return self.call("POST", "/v1/sync/push", body)

    def close(self) -> None:
        self.conn.close()


def push_body(mutations: list[dict]) -> bytes:
    return json.dumps({"mutations": mutations}, separators=(",", ":")).encode("utf-8")


def check_applied(batch: list[dict], reply: dict) -> None:
    statuses = [r["status"] for r in reply["results"]]
    bad = [(m["seq"], m["type"], r) for m, r in zip(batch, reply["results"]) if r["status"] != "applied"]
    if len(statuses) != len(batch) or bad:
        raise RuntimeError(f"push: {len(bad)} of {len(batch)} mutations were not applied; first: {bad[:2]}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# ----- the baseline: the same events straight through the eventsourcing application --------------


def _prepared(exercise_ids: dict[str, str], facts: list[dict]) -> list[tuple[dict, datetime, str, dict, dict]]:
    """Each fact's checked values, as the push's argument parsing and validation make them (not timed)."""
    out = []
    for m in facts:
        parsed = argspec.parse(m["type"], m["args"])
        occurred_at = datetime.fromisoformat(m["occurred_at"])
        month = month_of(occurred_at)
        fact_id = derived_id(m["mutation_id"], "fact")
        if m["type"] == "log":
            name = parsed["exercise"]
            attrs = {"exercise_id": exercise_ids[name], "exercise_name": name, "session": validate("log", parsed)}
            result = {"fact_id": fact_id, "month": month, "exercise_id": exercise_ids[name], "exercise": name}
        else:
            attrs = {"details": validate(m["type"], parsed)}
            result = {"fact_id": fact_id, "month": month}
        out.append((m, occurred_at, fact_id, attrs, result))
    return out


def raw_append(url: str, account_id: str, device_id: str, setup: list[dict], facts: list[dict]) -> dict:
    """The same events made by the aggregates and saved through ``app.save`` per batch of 500.

    Timed: the aggregates' commands (``FactLog.record``, ``MutationRecord.processed``,
    ``Device.accept``), which make the events, and ``app.save``; that is appending
    through the eventsourcing application. Not timed: parsing and validating the
    arguments (request work the push has to do, like HTTP and JSON). ``save_only_per_s``
    counts the saves alone.
    """
    app = BackstoryApp(parse_store(url).env)
    try:
        program_id = program_id_for(account_id)
        exercise_ids = {m["args"]["name"]: derived_id(m["mutation_id"], "exercise")
                        for m in setup if m["type"] == "add"}
        device = Device.pair(uuid.UUID(device_id), uuid.UUID(account_id), "bench device", token_hash("x"))
        device.accept(setup[-1]["seq"])
        app.save(device)
        logs: dict[str, FactLog] = {}
        t_prep = time.perf_counter()
        prepared = _prepared(exercise_ids, facts)
        prep_s = time.perf_counter() - t_prep
        make_s = save_s = 0.0
        events = 0
        for batch in batches(prepared):
            t0 = time.perf_counter()
            now = datetime.now(UTC)
            records = []
            for m, occurred_at, fact_id, attrs, result in batch:
                month = result["month"]
                fact_log = logs.get(month) or logs.setdefault(month, FactLog.open(program_id, month))
                fact_log.record(m["type"], fact_id, occurred_at, now, device_id, m["mutation_id"], **attrs)
                records.append(MutationRecord.processed(program_id, m["mutation_id"], m["type"], device_id,
                                                        occurred_at, m["args"], "applied", result, now,
                                                        seq=m["seq"], base_version=m["base_version"]))
            device.accept(batch[-1][0]["seq"])
            changed = [a for a in (*logs.values(), device, *records) if a.pending_events]
            events += sum(len(a.pending_events) for a in changed)
            t1 = time.perf_counter()
            app.save(*changed)
            t2 = time.perf_counter()
            make_s += t1 - t0
            save_s += t2 - t1
        return {"per_s": len(facts) / (make_s + save_s), "save_only_per_s": len(facts) / save_s,
                "save_s": save_s, "make_s": make_s, "build_s": prep_s, "events": events}
    finally:
        app.close()


# ----- the pull baseline: a plain select of the feed rows -----------------------------------------


class FeedSelect:
    """The pull's baseline: one plain SELECT of a program's rows of the projections' feed table."""

    def __init__(self, url: str, program_id: str):
        from sqlalchemy import select

        from projections.engine import make_engine
        from projections.tables import feed

        self.engine = make_engine(url)
        self.query = select(feed).where(feed.c.program_id == program_id).order_by(feed.c.position)

    def once(self) -> tuple[int, float]:
        """Every row fetched, its ``data`` JSON decoded: (rows, seconds)."""
        t0 = time.perf_counter()
        with self.engine.connect() as conn:
            rows = conn.execute(self.query).mappings().all()
        took = time.perf_counter() - t0
        if rows and not isinstance(rows[0]["data"], dict):
            raise RuntimeError("the feed's data column did not decode to an object")
        return len(rows), took

    def close(self) -> None:
        self.engine.dispose()


def pull_all(port: int, token: str) -> dict[str, Any]:
    """A device pulls the whole feed from the start; positions must be contiguous."""
    puller = Client(port, token)
    try:
        after, pulled, pages, last_position = "", 0, 0, 0
        t0 = time.perf_counter()
        while True:
            page = puller.call("GET", f"/v1/sync/pull?{urlencode({'after': after, 'limit': PULL_PAGE})}")
            pages += 1
            entries = page["entries"]
            if entries:
                if entries[0]["position"] != last_position + 1:
                    raise RuntimeError(f"pull: the feed skipped from {last_position} to {entries[0]['position']}")
                last_position = entries[-1]["position"]
            pulled += len(entries)
            after = page["next_cursor"]
            if not page["has_more"]:
                break
        return {"pulled": pulled, "s": time.perf_counter() - t0, "pages": pages,
                "rate_limited": puller.rate_limited}
    finally:
        puller.close()


# ----- the run -----------------------------------------------------------------------------------


class SyncBench:
    """One sync benchmark on one backend, in phases: ``push()`` (with its baseline), then ``pull()``.

    ``bench/run.py`` uses the phases on their own (a push without the pull on PostgreSQL);
    ``run`` below is the whole of ``bench/sync.py``. ``stop()`` always stops the server.
    """

    def __init__(self, a: argparse.Namespace, stores: Stores, figures: dict[str, Any]):
        self.a = a
        self.stores = stores
        self.figures = figures
        end = datetime.now(UTC) - timedelta(hours=1)
        self.work = Workload(a.seed, end, a.days)
        self.setup = self.work.setup()
        self.facts = self.work.facts(a.facts)
        # Feed entries per fact: its event and its outcome; plus init/add with their outcomes and the months.
        setup_entries = 2 * len(self.setup)
        extra = max(0, math.ceil((a.pull - setup_entries) / 2) - len(self.facts))
        self.more = self.work.facts(extra)
        # The account, in-process against the server's own store.
        app = BackstoryApp(parse_store(stores.url).env)
        try:
            self.account = create_account(app, "bench")
        finally:
            app.close()
        self.program_id = str(program_id_for(self.account["account_id"]))
        self.server: Server | None = None
        self.client: Client | None = None

    def push(self) -> None:
        """The baseline, the timed push over HTTP, the server's peak RSS, the baseline again."""
        a, stores, facts, account = self.a, self.stores, self.facts, self.account
        raw_runs = []
        log(f"baseline: raw append of {len(facts):,} facts (run 1, fresh {stores.backend} store)")
        raw_runs.append(raw_append(stores.fresh("raw1"), account["account_id"], account["device_id"],
                                   self.setup, facts))

        log("starting the server")
        self.server = server = Server(stores.url, stores.tmp)
        self.figures["server_start_s"] = round(server.wait_ready(), 2)
        self.client = client = Client(server.port, account["token"])
        check_applied(self.setup, client.push(push_body(self.setup)))

        bodies = [(b, push_body(b)) for b in batches(facts)]
        log(f"push: {len(facts):,} facts in {len(bodies)} batches of {BATCH} over HTTP")
        latencies = []
        t_start = time.perf_counter()
        for batch, body in bodies:
            t0 = time.perf_counter()
            reply = client.push(body)
            latencies.append(time.perf_counter() - t0)
            check_applied(batch, reply)
        push_s = time.perf_counter() - t_start
        peak, peak_total = server.peak_rss_mb()

        log(f"baseline: raw append of {len(facts):,} facts (run 2, fresh {stores.backend} store)")
        raw_runs.append(raw_append(stores.fresh("raw2"), account["account_id"], account["device_id"],
                                   self.setup, facts))

        raw = max(raw_runs, key=lambda r: r["per_s"])
        push_per_s = len(facts) / push_s
        self.figures.update({
            "push_per_s": round(push_per_s, 1),
            "raw_append_per_s": round(raw["per_s"], 1),
            "push_ratio": round(push_per_s / raw["per_s"], 3),
            "push_batch_p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "push_batch_p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "server_peak_rss_mb": round(peak, 1),
            "facts": len(facts),
            "backend": stores.backend,
            # context
            "days": a.days,
            "fact_months": len({month_of(datetime.fromisoformat(m["occurred_at"])) for m in facts}),
            "push_s": round(push_s, 2),
            "push_batches": len(latencies),
            "raw_append_runs_per_s": [round(r["per_s"], 1) for r in raw_runs],
            "raw_events_per_run": raw["events"],
            "raw_build_s": round(raw["build_s"], 2),
            "raw_make_s": round(raw["make_s"], 2),
            "raw_save_only_per_s": round(max(r["save_only_per_s"] for r in raw_runs), 1),
            "push_ratio_save_only": round(push_per_s / max(r["save_only_per_s"] for r in raw_runs), 3),
            "server_peak_rss_total_mb": round(peak_total, 1),
            "rate_limited": client.rate_limited,
        })

    def pull(self) -> None:
        """More facts (untimed) until the feed is long enough, then fresh devices pull it, each next to a select."""
        a, stores, more, server, client = self.a, self.stores, self.more, self.server, self.client
        assert server is not None and client is not None, "push() first"
        log(f"pull: building the feed, {len(more):,} more facts (not timed)")
        t0 = time.perf_counter()
        for batch in batches(more):
            check_applied(batch, client.push(push_body(batch)))
        build_s = time.perf_counter() - t0

        rate_limited = client.rate_limited
        tokens = [client.call("POST", "/v1/devices", json.dumps({"name": f"bench puller {i + 1}"}).encode())["token"]
                  for i in range(a.repeats)]
        log(f"pull: {a.repeats} fresh devices each pull the whole feed; a plain SQL select after each")
        selector = FeedSelect(stores.url, self.program_id)
        pulls, selects = [], []
        try:
            for token in tokens:
                pulls.append(pull_all(server.port, token))
                selects.append(selector.once())
        finally:
            selector.close()
        rate_limited += sum(p["rate_limited"] for p in pulls)
        self.figures["server_peak_rss_end_mb"] = round(server.peak_rss_mb()[0], 1)

        pulled = pulls[0]["pulled"]
        if any(p["pulled"] != pulled for p in pulls) or any(n != pulled for n, _ in selects):
            raise RuntimeError(f"the pulls got {[p['pulled'] for p in pulls]} entries and the selects found "
                               f"{[n for n, _ in selects]} rows; they should all be the same")
        if pulled < a.pull:
            log(f"warning: the feed held {pulled:,} entries, fewer than the {a.pull:,} asked for")
        pull_s = statistics.median(p["s"] for p in pulls)
        sql_per_s = pulled / statistics.median(t for _, t in selects)
        pull_per_s = pulled / pull_s
        self.figures.update({
            "pull_per_s": round(pull_per_s, 1),
            "sql_select_per_s": round(sql_per_s, 1),
            "pull_ratio": round(pull_per_s / sql_per_s, 3),
            "pulled": pulled,
            "pull_s": round(pull_s, 2),
            "pull_runs_per_s": [round(p["pulled"] / p["s"], 1) for p in pulls],
            "sql_select_runs_per_s": [round(n / t, 1) for n, t in selects],
            "pull_pages": pulls[0]["pages"],
            "feed_build_facts": len(more),
            "feed_build_s": round(build_s, 2),
            "feed_build_per_s": round(len(more) / build_s, 1) if more else None,
            "rate_limited": rate_limited,
        })

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.server is not None:
            self.server.stop()
            self.server = None


def run(a: argparse.Namespace, stores: Stores, figures: dict[str, Any]) -> None:
    bench = SyncBench(a, stores, figures)
    try:
        bench.push()
        bench.pull()
    finally:
        bench.stop()


def revision() -> str | None:
    """The checkout's commit, with ``+dirty`` when tracked files differ from it (figures move with the code)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def table(f: dict[str, Any]) -> str:
    rows = [
        ("backend", f["backend"],
         f"facts over {f['days']:g} days ({f['fact_months']} month streams); revision {f['revision']}"),
        ("push over HTTP", f"{f['push_per_s']:,.0f} facts/s",
         f"{f['facts']:,} facts, {f['push_batches']} batches of {BATCH}, {f['push_s']:.2f} s"),
        ("raw eventsourcing append", f"{f['raw_append_per_s']:,.0f} facts/s",
         "best of runs " + ", ".join(f"{r:,.0f}" for r in f["raw_append_runs_per_s"])
         + f"; {f['raw_events_per_run']:,} events each"),
        ("push_ratio", f"{f['push_ratio']:.2f}", "target >= 0.5"),
        ("save alone (context)", f"{f['raw_save_only_per_s']:,.0f} facts/s",
         f"the baseline's app.save calls without the aggregates making the events; push / this "
         f"= {f['push_ratio_save_only']:.2f}"),
        ("push batch p50 / p99", f"{f['push_batch_p50_ms']:,.0f} / {f['push_batch_p99_ms']:,.0f} ms", ""),
        ("server peak RSS", f"{f['server_peak_rss_mb']:.0f} MB",
         (f"largest process after the push (target <= 200); all processes {f['server_peak_rss_total_mb']:.0f} MB; "
          f"after the pull {f['server_peak_rss_end_mb']:.0f} MB")),
        ("pull over HTTP", f"{f['pull_per_s']:,.0f} entries/s",
         f"{f['pulled']:,} entries, {f['pull_pages']} pages; median of "
         + ", ".join(f"{r:,.0f}" for r in f["pull_runs_per_s"])),
        ("plain SQL select", f"{f['sql_select_per_s']:,.0f} rows/s",
         "median of " + ", ".join(f"{r:,.0f}" for r in f["sql_select_runs_per_s"])),
        ("pull_ratio", f"{f['pull_ratio']:.2f}", "target >= 0.3"),
        ("feed build (untimed)", f"{f['feed_build_per_s'] or 0:,.0f} facts/s",
         f"{f['feed_build_facts']:,} facts in {f['feed_build_s']:.1f} s"),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{r[0]:<{w0}}  {r[1]:>{w1}}  {r[2]}".rstrip() for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--facts", type=int, default=None, help="facts pushed and timed (default 10000)")
    ap.add_argument("--pull", type=int, default=None, help="feed entries a fresh device pulls (default 50000)")
    ap.add_argument("--db", metavar="URL", help="store URL (default: SQLite in a temporary directory); "
                                                "postgresql://...?schema=NAME creates and drops that schema")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument("--quick", action="store_true", help="2,000 facts and 10,000 pulled entries")
    ap.add_argument("--days", type=float, default=60.0,
                    help="the facts' occurred_at spread over this many days before now (default 60)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="pulls (each by a freshly paired device) and SQL selects, interleaved (default 3)")
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    a.facts = a.facts if a.facts is not None else (2_000 if a.quick else 10_000)
    a.pull = a.pull if a.pull is not None else (10_000 if a.quick else 50_000)
    if a.facts < 1 or a.pull < 1 or a.days <= 0 or a.repeats < 1:
        ap.error("--facts, --pull, --days and --repeats must be positive")

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    stores = Stores(a.db)
    figures: dict[str, Any] = {"revision": revision()}
    started = time.perf_counter()
    try:
        run(a, stores, figures)
    finally:
        stores.close()
    figures["total_s"] = round(time.perf_counter() - started, 1)
    if a.json:
        print(json.dumps(figures))
    else:
        print(table(figures))
        print(f"(whole run {figures['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
