"""Load test: many devices push, pull and read at once against a real server, for a fixed time.

    python bench/load.py [--db URL] [--workers N] [--devices 20] [--accounts 5] [--duration 60]
                         [--seed S] [--rate-limit R --rate-burst B] [--threads T] [--keep] [--json]
    python bench/load.py --quick            # the CI size: 12 devices for 12 s

``--threads T`` serves with gunicorn's own command line and threaded workers
(``gunicorn -k gthread --threads T -w N 'api.wsgi:app()'``) instead of
``backstory serve``; ``--keep`` keeps the temporary directory (the server's log).

1. Starts ``python -m cli --db URL serve --port P [--workers N]`` (gunicorn, the
   default config) on a fresh store: a SQLite file in a temporary directory by
   default; ``--db postgresql://USER@HOST:PORT/DB?schema=NAME`` creates that
   schema and drops it at the end.
2. Makes ``--accounts`` accounts (``service.accounts.create_account``) and pairs
   the other devices over ``POST /v1/devices``, round robin, so every account
   has several devices; each account's first device pushes ``init`` and three
   ``add``s. None of this is timed.
3. For ``--duration`` seconds every device is a thread with its own keep-alive
   ``http.client`` connection (gunicorn's sync worker closes it after each
   reply; the device then opens a new one, as any HTTP client does), looping:
   push a batch of 1-50 mutations (mostly 1-10; 90% facts, the rest decisions
   against the program version the device last read; 5% of pushes send the
   previous batch again, as after a lost reply, and must answer ``duplicate``),
   pull its account's feed after its cursor (60%: up to 4 pages of 200), call a
   read endpoint (35%: program, history, an exercise's history, sessions,
   recap, signature, conflicts, devices). A 429 is waited out as its
   ``Retry-After`` says and counted; so is a 503, which also counts as a failure.
4. Reports requests/s and mutations/s (first sends only) over the whole run, and
   per kind of request (push, pull, read) the count and p50/p99/max latency.
5. Checks, and exits 1 when one fails: no 5xx, no connection error (a failure on
   a connection the server had already closed is a reconnect, not an error), no
   response body mentioning "database is locked", "locked", "pool", "timeout" or
   "OperationalError", no unexpected protocol answer; then ``bench/load_checks.py``:
   every acknowledged mutation has one outcome in its account's feed (positions
   without holes) and exactly one stored record with the status its reply gave,
   each applied fact is stored once, each device's seqs are 1..last; the server
   log has no traceback and no "store busy".

``--json`` prints one JSON object on stdout (progress goes to stderr).
The server is always stopped at the end, also on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HTTP_TIMEOUT = 120
FORBIDDEN = ("database is locked", "locked", "pool", "timeout", "operationalerror")
EXERCISES = ("Dead bug", "Bird dog", "Glute bridge")
MUSCLES = ("paraspinals", "multifidus", "hip_flexors", "glutes", "obliques", "hamstrings")
SIDES = ("left", "right", "both")
TENSION_KINDS = ("overactive", "underactive", "guarding", "cramping")
BREAK_KINDS = ("stand", "walk", "extend", "rotate", "reset")
REGIONS = ("low_back", "mid_back", "left_buttock", "right_hip")
READS = ("/v1/program", "/v1/history", "/v1/exercises/{exercise}/history", "/v1/sessions?since={since}",
         "/v1/recap", "/v1/signature", "/v1/conflicts", "/v1/devices")
FULL = {"devices": 20, "accounts": 5, "duration": 60.0}
QUICK = {"devices": 12, "accounts": 4, "duration": 12.0}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ----- the server and its store ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Store:
    """The server's fresh store: a SQLite file in a temporary directory, or a PostgreSQL schema of its own."""

    def __init__(self, url: str | None, tmp: Path):
        from service.config import parse_store

        self.url = url or f"sqlite:///{tmp / 'load.sqlite'}"
        self.env = parse_store(self.url).env
        self.backend = "sqlite" if parse_store(self.url).is_sqlite else "postgresql"
        self.schema = self.env.get("POSTGRES_SCHEMA")
        if self.backend == "postgresql":
            if not self.schema or '"' in self.schema:
                raise SystemExit("load: give the PostgreSQL URL a ?schema=NAME of its own; it is dropped at the end")
            with self._pg() as conn:
                if conn.execute("select 1 from pg_namespace where nspname = %s", (self.schema,)).fetchone():
                    raise SystemExit(f"load: schema {self.schema!r} already exists; give a new one")
                conn.execute(f'CREATE SCHEMA "{self.schema}"')

    def _pg(self):
        import psycopg

        e = self.env
        return psycopg.connect(dbname=e["POSTGRES_DBNAME"], host=e["POSTGRES_HOST"], port=int(e["POSTGRES_PORT"]),
                               user=e["POSTGRES_USER"], password=e["POSTGRES_PASSWORD"] or None, autocommit=True)

    def open(self):
        from service.application import BackstoryApp

        return BackstoryApp(self.env)

    def drop(self) -> None:
        if self.backend == "postgresql":
            with self._pg() as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


#: The load pairs many devices per account within seconds: the account caps (20 devices, 5 pairings an
#: hour) would answer 403/429 to the setup itself, which is not what is measured.
PAIRING_CAPS_RAISED = {"BACKSTORY_PAIRINGS_PER_HOUR": "1000", "BACKSTORY_MAX_ACTIVE_DEVICES": "1000"}


class Server:
    """``python -m cli --db URL serve --port P --workers N`` in a process group of its own."""

    def __init__(self, url: str, workers: int, tmp: Path, env_extra: dict[str, str], threads: int = 0):
        self.port = free_port()
        self.log_path = tmp / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
        env.update({"PYTHONPATH": str(ROOT), "BACKSTORY_HOME": str(tmp / "home"), "TZ": "UTC", **PAIRING_CAPS_RAISED,
                    **env_extra})
        command = [sys.executable, "-m", "cli", "--db", url, "serve", "--port", str(self.port), "--workers",
                   str(workers)]
        if threads:  # gunicorn's own command line, threaded workers (README: "with gunicorn's own options")
            env["BACKSTORY_DB"] = url
            command = [sys.executable, "-m", "gunicorn", "--no-control-socket", "-k", "gthread", "--threads",
                       str(threads), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "api.wsgi:app()"]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/readyz")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server was not ready within {timeout:.0f} s:\n{self.text()[-3000:]}")

    def cpu_seconds(self) -> float:
        """User and system CPU of the server's processes (gunicorn's master and workers) so far."""
        tick, total = os.sysconf("SC_CLK_TCK"), 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # the process group: the master started it as leader
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            self._group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._group(signal.SIGKILL)
                self.proc.wait(timeout=30)
        else:
            self._group(signal.SIGKILL)  # a master that died early may leave a worker behind

    def _group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


# ----- what the devices record ------------------------------------------------------------------


@dataclass
class Ack:
    """One result of a 200 push reply."""

    device_id: str
    seq: int
    status: str
    original_status: str | None


@dataclass
class Tally:
    """Everything the devices saw, from all threads: latencies, counts, acknowledgements, problems."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    by_route: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    counts: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    acks: dict[str, list[Ack]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)  # 5xx and connection errors
    forbidden: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, text: str) -> None:
        with self.lock:
            getattr(self, what).append(text)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n


class Connection:
    """One device's HTTP/1.1 connection, kept open as long as the server keeps it."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.used = False  # a reply came on it: a failure now may be the server having closed it

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn, self.used = None, False

    def send(self, method: str, path: str, data: bytes | None, token: str) -> tuple[int, bytes, dict]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        headers = {"Authorization": f"Bearer {token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        self.used = True
        if resp.will_close:
            self.close()
        return resp.status, raw, {k.lower(): v for k, v in resp.getheaders()}


# ----- one device ---------------------------------------------------------------------------------


def _mid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Device:
    """One device's side of the protocol: its seqs, its cursor, the program version it last read."""

    def __init__(self, account: int, device_id: str, token: str, port: int, tally: Tally, rng: random.Random):
        self.account, self.device_id, self.token = account, device_id, token
        self.conn = Connection(port)
        self.tally, self.rng = tally, rng
        self.seq = 0
        self.version: int | None = None
        self.cursor = ""
        self.last_batch: list[dict] = []
        self.sent: dict[str, dict] = {}  # mutation id -> the mutation, as first sent

    # ----- HTTP with a real client's manners -------------------------------------------------------

    def call(self, kind: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        route = path.split("?")[0]
        last = "nothing"
        for attempt in range(20):
            started = time.perf_counter()
            try:
                status, raw, headers = self.conn.send(method, path, data, self.token)
            except (OSError, http.client.HTTPException) as e:
                reused = self.conn.used
                self.conn.close()
                if reused and attempt == 0:
                    self.tally.count("reconnects")  # the server closed a kept-alive connection: send again
                    continue
                last = f"no reply: {type(e).__name__}: {e}"
                self.tally.add("failures", f"{method} {route}: {last}")
                time.sleep(0.5)
                continue
            took = (time.perf_counter() - started) * 1000
            self._look_for_leaks(method, route, status, raw)
            with self.tally.lock:
                self.tally.statuses[status] += 1
            if status in (429, 503):
                last = f"{status} {raw[:300]!r}"
                if status == 503:
                    self.tally.add("failures", f"{method} {route}: 503 {raw[:300]!r}")
                self.tally.count(f"http_{status}")
                time.sleep(_retry_after(headers))
                continue
            if status >= 500:
                self.tally.add("failures", f"{method} {route}: {status} {raw[:300]!r}")
                return status, None
            with self.tally.lock:
                self.tally.latencies[kind].append(took)
                self.tally.by_route[f"{method} {route if kind != 'read' else _route_name(route)}"].append(took)
            return status, json.loads(raw) if raw else None
        raise RuntimeError(f"{method} {route}: no answer after 20 attempts; the last: {last}")

    def _look_for_leaks(self, method: str, route: str, status: int, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").lower()
        hits = [w for w in FORBIDDEN if w in text]
        if hits:
            self.tally.add("forbidden", f"{method} {route} {status} mentions {hits}: {text[:300]}")

    # ----- the protocol ----------------------------------------------------------------------------

    def push(self, batch: list[dict], again: bool = False) -> None:
        status, reply = self.call("push", "POST", "/v1/sync/push", {"mutations": batch})
        if status != 200:
            self.tally.add("problems", f"device {self.device_id}: push answered {status}: {reply}")
            return
        results = reply.get("results") or []
        if [r.get("mutation_id") for r in results] != [m["mutation_id"] for m in batch]:
            self.tally.add("problems", f"device {self.device_id}: results do not match the batch one for one")
        if again and any(r.get("status") != "duplicate" for r in results):
            self.tally.add("problems", f"device {self.device_id}: a batch sent again answered "
                                       f"{[r.get('status') for r in results]}, expected only duplicate")
        if reply.get("last_seq") != max(self.seq, batch[-1]["seq"]):
            self.tally.add("problems", f"device {self.device_id}: last_seq {reply.get('last_seq')} after "
                                       f"pushing up to {batch[-1]['seq']}")
        with self.tally.lock:
            for m, r in zip(batch, results):
                self.tally.acks[m["mutation_id"]].append(
                    Ack(self.device_id, m["seq"], r.get("status"), r.get("original_status")))
        self.seq = max(self.seq, batch[-1]["seq"])

    def push_new(self, batch: list[dict]) -> None:
        for m in batch:
            self.sent[m["mutation_id"]] = m
        self.push(batch)
        self.last_batch = batch
        self.tally.count("mutations", len(batch))

    def pull(self, pages: int = 4, limit: int = 200) -> None:
        for _ in range(pages):
            path = f"/v1/sync/pull?limit={limit}" + (f"&after={quote(self.cursor)}" if self.cursor else "")
            status, page = self.call("pull", "GET", path)
            if status != 200:
                self.tally.add("problems", f"device {self.device_id}: pull answered {status}: {page}")
                return
            self.cursor = page["next_cursor"]
            self.tally.count("entries", len(page["entries"]))
            if not page["has_more"]:
                return

    def read(self) -> None:
        since = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
        path = self.rng.choice(READS).format(exercise=quote(self.rng.choice(EXERCISES)), since=since)
        status, body = self.call("read", "GET", path)
        if status != 200:
            self.tally.add("problems", f"device {self.device_id}: GET {path} answered {status}: {body}")
        elif path == "/v1/program":
            self.version = body["version"]

    # ----- what it does for the duration -----------------------------------------------------------

    def step(self) -> None:
        rng = self.rng
        if self.last_batch and rng.random() < 0.05:
            self.push(self.last_batch, again=True)  # as after a lost reply: the same ids and seqs
        else:
            self.push_new(new_batch(rng, self.seq, self.version))
        if rng.random() < 0.6:
            self.pull()
        if rng.random() < 0.35:
            self.read()

    def run(self, until: float, errors: list[BaseException]) -> None:
        try:
            while time.monotonic() < until:
                self.step()
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)
        finally:
            self.conn.close()


def _retry_after(headers: dict) -> float:
    try:
        return min(max(float(headers.get("retry-after", "1")), 0.0), 30.0)
    except ValueError:
        return 1.0


def _route_name(route: str) -> str:
    return "/v1/exercises/<exercise>/history" if route.startswith("/v1/exercises/") else route


# ----- the workload ------------------------------------------------------------------------------


def _mutation(rng: random.Random, seq: int, type_: str, at: datetime, args: dict, base: int | None = None) -> dict:
    return {"mutation_id": _mid(rng), "seq": seq, "type": type_, "occurred_at": at.isoformat(),
            "base_version": base, "args": args}


def batch_size(rng: random.Random) -> int:
    roll = rng.random()
    return rng.randint(1, 10) if roll < 0.7 else rng.randint(11, 25) if roll < 0.92 else rng.randint(26, 50)


def new_batch(rng: random.Random, last_seq: int, version: int | None) -> list[dict]:
    out = []
    for i in range(batch_size(rng)):
        seq = last_seq + 1 + i
        out.append(decision(rng, seq, version) if rng.random() < 0.1 else fact(rng, seq))
    return out


def fact(rng: random.Random, seq: int) -> dict:
    """A fact from the last three weeks (two fact months), as a phone would log it."""
    at = datetime.now(UTC) - timedelta(seconds=rng.uniform(60, 21 * 86400))
    roll = rng.random()
    if roll < 0.6:
        args: dict[str, Any] = {"exercise": rng.choice(EXERCISES), "sets": rng.randint(1, 4),
                                "reps": rng.randint(4, 12), "pain_before": rng.randint(0, 7),
                                "pain_after": rng.randint(0, 7), "effort": rng.randint(1, 8)}
        if rng.random() < 0.3:
            args["tension"] = [{"muscle": rng.choice(MUSCLES), "side": rng.choice(SIDES),
                                "kind": rng.choice(TENSION_KINDS), "intensity": rng.randint(0, 10)}]
        if rng.random() < 0.15:
            args["note"] = "tight on the left after the second set"
        return _mutation(rng, seq, "log", at, args)
    if roll < 0.8:
        return _mutation(rng, seq, "break", at, {"kind": rng.choice(BREAK_KINDS), "seconds": rng.randint(30, 120)})
    if roll < 0.95:
        return _mutation(rng, seq, "checkin", at, {"pain": rng.randint(0, 8), "starts": rng.choice(REGIONS)})
    return _mutation(rng, seq, "next-day", at, {"exercise": rng.choice(EXERCISES),
                                                "verdict": rng.choice(("better", "same", "worse"))})


def decision(rng: random.Random, seq: int, version: int | None) -> dict:
    """A progression or regression against the version last read: some apply, some conflict or are refused."""
    now, exercise = datetime.now(UTC), rng.choice(EXERCISES)
    if rng.random() < 0.5:
        return _mutation(rng, seq, "progress", now, {"exercise": exercise, "sets": rng.randint(2, 8),
                                                     "reason": "felt easy", "force": True}, version)
    return _mutation(rng, seq, "regress", now, {"exercise": exercise, "reps": rng.randint(1, 10),
                                                "reason": "sore the next morning"}, version)


def setup_batch(rng: random.Random) -> list[dict]:
    start = datetime.now(UTC) - timedelta(days=30)
    out = [_mutation(rng, 1, "init", start, {"name": "load", "timezone": "Europe/Paris"}, 0)]
    for i, name in enumerate(EXERCISES):
        out.append(_mutation(rng, i + 2, "add", start + timedelta(minutes=i + 1),
                             {"name": name, "position": "1:supine", "sets": 3, "reps": 8}, i + 1))
    return out


# ----- a run -------------------------------------------------------------------------------------


@dataclass
class Options:
    db: str | None = None
    workers: int = 1
    devices: int = FULL["devices"]
    accounts: int = FULL["accounts"]
    duration: float = FULL["duration"]
    seed: int | None = None
    keep: bool = False  # keep the temporary directory (the server's log, the SQLite file)
    threads: int = 0  # > 0: gunicorn's gthread workers with this many threads, instead of ``backstory serve``
    server_env: dict[str, str] = field(default_factory=dict)  # e.g. BACKSTORY_RATE_LIMIT


def _devices(store: Store, opts: Options, port: int, tally: Tally, rng: random.Random) -> list[Device]:
    """The accounts, made on the store, and their devices, paired over the API (round robin)."""
    from service.accounts import create_account

    app = store.open()
    try:
        firsts = [create_account(app, f"person {i}") for i in range(opts.accounts)]
    finally:
        app.close()
    devices = [Device(i, a["device_id"], a["token"], port, tally, random.Random(rng.random()))
               for i, a in enumerate(firsts)]
    for n in range(opts.accounts, opts.devices):
        first = devices[n % opts.accounts]
        status, paired = first.call("setup", "POST", "/v1/devices", {"name": f"device {n}"})
        if status != 201:
            raise RuntimeError(f"pairing a device answered {status}: {paired}")
        devices.append(Device(first.account, paired["device_id"], paired["token"], port, tally,
                              random.Random(rng.random())))
    for first in devices[:opts.accounts]:
        first.push_new(setup_batch(first.rng))
    for d in devices:
        status, program = d.call("setup", "GET", "/v1/program")
        d.version = program["version"] if status == 200 else None
    return devices


def _drive(devices: list[Device], duration: float) -> float:
    """Every device in its own thread for ``duration`` seconds; the wall time until the last one finished."""
    errors: list[BaseException] = []
    started = time.monotonic()
    threads = [threading.Thread(target=d.run, args=(started + duration, errors), daemon=True) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.monotonic() - started


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def _summary(samples: dict[str, list[float]], wall: float) -> dict[str, dict]:
    return {k: {"count": len(v), "per_s": round(len(v) / wall, 1), "p50_ms": round(percentile(v, 50), 1),
                "p99_ms": round(percentile(v, 99), 1), "max_ms": round(max(v), 1)}
            for k, v in sorted(samples.items()) if v}


def _reset_for_timing(tally: Tally) -> None:
    with tally.lock:
        tally.latencies.clear()
        tally.by_route.clear()
        tally.counts.clear()
        tally.statuses.clear()


def run(opts: Options) -> dict:
    """One load run on a fresh store; the figures and every problem found (an empty list: all checks hold)."""
    from bench import load_checks

    seed = opts.seed if opts.seed is not None else random.randrange(2**32)
    rng, tally = random.Random(seed), Tally()
    tmp = Path(tempfile.mkdtemp(prefix="backstory-load-"))
    store = Store(opts.db, tmp)
    server = Server(store.url, opts.workers, tmp, opts.server_env, opts.threads)
    try:
        server.wait_ready()
        log(f"load: {store.backend}, {opts.workers} worker(s), {opts.devices} devices of {opts.accounts} accounts, "
            f"{opts.duration:g} s, seed {seed}")
        devices = _devices(store, opts, server.port, tally, rng)
        _reset_for_timing(tally)
        cpu = server.cpu_seconds(), time.process_time()
        wall = _drive(devices, opts.duration)
        report = _report(opts, store, seed, tally, wall)
        report["server_cpu_s"] = round(server.cpu_seconds() - cpu[0], 1)
        report["client_cpu_s"] = round(time.process_time() - cpu[1], 1)
        checks = [load_checks.check_feeds(devices, tally)]
        server.stop()
        checks += [load_checks.check_store(store, devices, tally), load_checks.check_log(server.text())]
        report["checks"] = {k: v for figures, _ in checks for k, v in figures.items()}
        report["problems"] = tally.failures + tally.forbidden + tally.problems + [p for _, ps in checks for p in ps]
        return report
    finally:
        server.stop()
        store.drop()
        if opts.keep:
            log(f"load: the server's log is kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _report(opts: Options, store: Store, seed: int, tally: Tally, wall: float) -> dict:
    requests = sum(len(v) for v in tally.latencies.values())
    return {
        "backend": store.backend, "workers": opts.workers, "threads": opts.threads,
        "load_average": [round(x, 1) for x in os.getloadavg()], "devices": opts.devices, "accounts": opts.accounts,
        "duration_s": opts.duration, "wall_s": round(wall, 2), "seed": seed,
        "requests": requests, "requests_per_s": round(requests / wall, 1),
        "mutations": tally.counts["mutations"], "mutations_per_s": round(tally.counts["mutations"] / wall, 1),
        "pulled_entries": tally.counts["entries"], "http_429": tally.counts["http_429"],
        "http_503": tally.counts["http_503"], "reconnects": tally.counts["reconnects"],
        "failures": len(tally.failures), "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "kinds": _summary(tally.latencies, wall), "routes": _summary(tally.by_route, wall),
    }


# ----- the command line --------------------------------------------------------------------------


def _table(r: dict) -> str:
    threads = f" of {r['threads']} threads" if r["threads"] else ""
    lines = [f"{r['backend']}, {r['workers']} worker(s){threads}, {r['devices']} devices / {r['accounts']} accounts, "
             f"{r['wall_s']} s (seed {r['seed']})",
             f"  {r['requests']} requests ({r['requests_per_s']}/s), {r['mutations']} mutations "
             f"({r['mutations_per_s']}/s), {r['pulled_entries']} entries pulled; 429: {r['http_429']}, "
             f"5xx and connection errors: {r['failures']}, reconnects: {r['reconnects']}; CPU s: server {r['server_cpu_s']}, devices {r['client_cpu_s']}",
             f"  {'kind':<36} {'count':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"]
    for name, k in [*r["kinds"].items(), *(("  " + n, v) for n, v in r["routes"].items())]:
        lines.append(f"  {name:<36} {k['count']:>7} {k['per_s']:>7} {k['p50_ms']:>8} {k['p99_ms']:>8} {k['max_ms']:>8}")
    lines.append(f"  checks: {r['checks']}")
    lines.append("  problems: none" if not r["problems"] else f"  PROBLEMS ({len(r['problems'])}): {r['problems'][:10]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="postgresql://...?schema=NEW (created and dropped); default a temporary SQLite file")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--devices", type=int)
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--duration", type=float, help="seconds")
    parser.add_argument("--quick", action="store_true", help="the CI size: 12 devices of 4 accounts for 12 s")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--rate-limit", type=float, help="the server's BACKSTORY_RATE_LIMIT (default: its own)")
    parser.add_argument("--rate-burst", type=int, help="the server's BACKSTORY_RATE_BURST")
    parser.add_argument("--threads", type=int, default=0,
                        help="serve with gunicorn's gthread workers of this many threads instead of backstory serve")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory with the server's log")
    parser.add_argument("--json", action="store_true")
    a = parser.parse_args(argv)
    size = QUICK if a.quick else FULL
    env = {k: str(v) for k, v in (("BACKSTORY_RATE_LIMIT", a.rate_limit), ("BACKSTORY_RATE_BURST", a.rate_burst))
           if v is not None}
    opts = Options(db=a.db, workers=a.workers, devices=a.devices or size["devices"],
                   accounts=a.accounts or size["accounts"], duration=a.duration or size["duration"], seed=a.seed,
                   threads=a.threads, keep=a.keep, server_env=env)
    if opts.accounts < 1 or opts.devices < opts.accounts:
        parser.error("--devices must be at least --accounts, and --accounts at least 1")
    report = run(opts)
    print(json.dumps(report, indent=2) if a.json else _table(report))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
