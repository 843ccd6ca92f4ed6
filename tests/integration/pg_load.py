"""A concurrent sync load over real server processes, for ``test_pg_concurrency``.

``Servers`` starts ``backstory serve``
processes; ``Device`` is one device's side of the sync protocol over plain
HTTP (its own seq counter, a cursor following its account's feed, the program
version it last saw); ``Load`` runs many devices at once in threads and keeps
every reply. Every 200 reply to a push is an acknowledgement: ``Load.outcomes``
keeps, per mutation id, every result any reply gave for it, so the checks can
prove that each acknowledged mutation was applied exactly once and that every
later ``duplicate`` carries the original outcome.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT = 60
BREAK_KINDS = ("stand", "walk", "extend", "rotate", "reset")
MUSCLES = ("paraspinals", "multifidus", "glutes", "hamstrings", "obliques")
SIDES = ("left", "right", "both")
TENSION_KINDS = ("overactive", "underactive", "guarding", "cramping")
FACTS = ("log", "break", "checkin")
EXERCISES = ("Bridge", "Bird dog")
START = datetime.now(UTC) - timedelta(days=40)


# ----- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["BACKSTORY_HOME"] = str(home)
    env["TZ"] = "UTC"
    # these tests pair many devices of one account at once: the account caps would refuse the setup itself
    env.update({"BACKSTORY_PAIRINGS_PER_HOUR": "1000", "BACKSTORY_MAX_ACTIVE_DEVICES": "1000"})
    return env


class Server:
    """``python -m cli --db URL serve --port P --workers N`` in its own process group."""

    def __init__(self, db_url: str, workers: int, home: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_file = log.open("wb")
        command = [sys.executable, "-m", "cli", "--db", db_url, "serve", "--port", str(self.port),
                   "--workers", str(workers)]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=server_env(home), stdout=self._log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited ({self.proc.returncode}): {self.log.read_text()}")
            try:
                if request("GET", self.url + "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)  # the group: gunicorn's master and its workers
        except ProcessLookupError:
            pass

    def stop(self) -> str:
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        else:
            self._signal(signal.SIGKILL)  # a master that died early may leave a worker behind
        if not self._log_file.closed:
            self._log_file.close()
        return self.log.read_text(errors="replace")


class Servers:
    """The server processes of one run, started together: ``urls`` are the addresses devices alternate between."""

    def __init__(self, db_url: str, layout: str, tmp: Path):
        home = tmp / "server-home"
        home.mkdir(exist_ok=True)
        if layout == "two-processes":
            self.servers = [Server(db_url, 1, home, tmp / f"server{i}.log") for i in range(2)]
        elif layout == "two-workers":
            self.servers = [Server(db_url, 2, home, tmp / "server0.log")]
        else:
            raise ValueError(layout)
        self.logs: list[str] = []
        try:
            for s in self.servers:
                s.wait_ready()
        except BaseException:
            self.stop()
            raise
        self.urls = [s.url for s in self.servers]
        if len(self.urls) == 1:
            self.urls = self.urls * 2  # one address, two workers behind it

    def stop(self) -> list[str]:
        if not self.logs:
            self.logs = [s.stop() for s in self.servers]
        return self.logs


# ----- HTTP --------------------------------------------------------------------------------------


def request(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Connection": "close"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
            payload = resp.read()
            return resp.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as e:
        payload = e.read()
        try:
            return e.code, json.loads(payload) if payload else None
        except ValueError:
            return e.code, payload.decode("utf-8", "replace")


@dataclass
class Call:
    method: str
    path: str
    status: int  # 0: no reply (connection error)
    detail: str = ""


class Log:
    """Every request made and its status, from all threads."""

    def __init__(self):
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def call(self, method: str, base: str, path: str, body: Any = None, token: str | None = None
             ) -> tuple[int, Any]:
        try:
            status, reply = request(method, base + path, body, token)
        except (OSError, urllib.error.URLError) as e:  # no reply: the caller treats it as a lost response
            with self._lock:
                self.calls.append(Call(method, path.split("?")[0], 0, f"{type(e).__name__}: {e}"))
            return 0, None
        detail = "" if status < 300 else json.dumps(reply)[:500]
        with self._lock:
            self.calls.append(Call(method, path.split("?")[0], status, detail))
        return status, reply


# ----- mutations ---------------------------------------------------------------------------------


def mutation(seq: int, mutation_type: str, occurred_at: datetime, base_version: int | None = None,
             **args: Any) -> dict:
    return {"mutation_id": str(uuid.uuid4()), "seq": seq, "type": mutation_type,
            "occurred_at": occurred_at.isoformat(), "base_version": base_version, "args": args}


def random_fact(rng: random.Random, seq: int) -> dict:
    """A valid fact (always applies), at a random moment of the last three weeks (so two fact months)."""
    at = datetime.now(UTC) - timedelta(seconds=rng.uniform(60, 21 * 86400))
    kind = rng.choice(FACTS)
    if kind == "log":
        args: dict[str, Any] = {"exercise": rng.choice(EXERCISES), "pain_before": rng.randint(0, 10),
                                "pain_after": rng.randint(0, 10), "sets": rng.randint(1, 4),
                                "reps": rng.randint(1, 15)}
        if rng.random() < 0.3:
            muscle, side, kind = rng.choice(MUSCLES), rng.choice(SIDES), rng.choice(TENSION_KINDS)
            args["tension"] = [f"{muscle}:{side}:{kind}:{rng.randint(0, 10)}"]
        return mutation(seq, "log", at, **args)
    if kind == "break":
        return mutation(seq, "break", at, kind=rng.choice(BREAK_KINDS), seconds=rng.randint(10, 300))
    return mutation(seq, "checkin", at, pain=rng.randint(0, 10), note=f"n{rng.randint(0, 999)}")


def bad_fact(rng: random.Random, seq: int) -> dict:
    """A fact with an out-of-range value: it is rejected (and recorded as such), never a protocol error."""
    at = datetime.now(UTC) - timedelta(seconds=rng.uniform(60, 86400))
    return mutation(seq, "log", at, exercise="Bridge", pain_before=11)


def random_decision(rng: random.Random, seq: int, base_version: int | None) -> dict:
    """A progression or regression of the shared exercise, against the version the device last saw."""
    now = datetime.now(UTC)
    if rng.random() < 0.5:
        changes = {"sets": rng.randint(2, 8)} if rng.random() < 0.5 else {"reps": rng.randint(4, 16)}
        return mutation(seq, "progress", now, base_version, exercise="Bridge", reason="felt easy", force=True,
                        **changes)  # forced past the lights' guard: this load is about concurrency
    return mutation(seq, "regress", now, base_version, exercise="Bridge", reason="sore", reps=rng.randint(1, 12))


# ----- devices -----------------------------------------------------------------------------------


@dataclass
class Reply:
    """One result of a 200 push reply."""

    device_id: str
    seq: int
    status: str
    original_status: str | None
    result: Any
    url: str


@dataclass
class Device:
    account: int
    device_id: str
    token: str
    seq: int = 0
    version: int | None = None
    cursor: str = ""
    followed: list[dict] = field(default_factory=list)


class Load:
    """Devices pushing and pulling at once, over all ``urls``; every reply kept for the checks."""

    def __init__(self, urls: list[str], seed: int):
        self.urls = urls
        self.seed = seed
        self.log = Log()
        self.devices: list[Device] = []
        self.sent: dict[str, dict] = {}  # mutation id -> the mutation (as first sent)
        self.refused: set[str] = set()  # sent only in batches refused with 409
        self.outcomes: dict[str, list[Reply]] = defaultdict(list)
        self.problems: list[str] = []  # protocol answers that were not what the device expected
        self._lock = threading.Lock()

    # ----- recording ---------------------------------------------------------------------------

    def _problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)

    def _acknowledged(self, device: Device, url: str, batch: list[dict], reply: dict) -> None:
        results = reply.get("results") or []
        if [r.get("mutation_id") for r in results] != [m["mutation_id"] for m in batch]:
            self._problem(f"device {device.device_id}: results do not match the batch one for one")
        with self._lock:
            for m, r in zip(batch, results):
                self.outcomes[m["mutation_id"]].append(Reply(
                    device.device_id, m["seq"], r.get("status"), r.get("original_status"), r.get("result"), url))

    # ----- protocol steps --------------------------------------------------------------------

    def push(self, device: Device, batch: list[dict], at: int) -> dict:
        """Push until a reply arrives (a connection error is a lost response: send again elsewhere)."""
        with self._lock:
            for m in batch:
                self.sent.setdefault(m["mutation_id"], m)
        for attempt in range(4):
            url = self.urls[(at + attempt) % len(self.urls)]
            status, reply = self.log.call("POST", url, "/v1/sync/push", {"mutations": batch}, device.token)
            if status == 0:
                continue
            if status != 200:
                raise AssertionError(f"push answered {status}: {reply}")
            self._acknowledged(device, url, batch, reply)
            return reply
        raise AssertionError("push got no reply after 4 attempts")

    def push_new(self, device: Device, batch: list[dict], at: int) -> dict:
        reply = self.push(device, batch, at)
        last = batch[-1]["seq"]
        if reply["last_seq"] != last:
            self._problem(f"device {device.device_id}: pushed up to seq {last}, the reply says last_seq "
                          f"{reply['last_seq']}")
        device.seq = max(device.seq, reply["last_seq"])
        return reply

    def race(self, device: Device, batch: list[dict], at: int) -> None:
        """The same new batch sent twice at once (a retry while the first is still in flight)."""
        replies: list[dict | None] = [None, None]
        errors: list[BaseException] = []

        def send(i: int) -> None:
            try:
                replies[i] = self.push(device, batch, at + i)
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        for reply in replies:
            if reply["last_seq"] != batch[-1]["seq"]:
                self._problem(f"device {device.device_id}: a raced push answered last_seq {reply['last_seq']}, "
                              f"expected {batch[-1]['seq']}")
        for i, m in enumerate(batch):
            statuses = [replies[0]["results"][i]["status"], replies[1]["results"][i]["status"]]
            fresh = [s for s in statuses if s != "duplicate"]
            if len(fresh) != 1:
                self._problem(f"raced mutation {m['mutation_id']}: statuses {statuses}")
        device.seq = batch[-1]["seq"]

    def gap(self, device: Device, batch: list[dict], at: int) -> None:
        """A batch that skips seqs: 409 naming the expected seq; nothing of it may be stored."""
        with self._lock:
            self.refused.update(m["mutation_id"] for m in batch)
        url = self.urls[at % len(self.urls)]
        status, reply = self.log.call("POST", url, "/v1/sync/push", {"mutations": batch}, device.token)
        if status != 409 or not isinstance(reply, dict) or reply.get("expected_seq") != device.seq + 1:
            self._problem(f"device {device.device_id}: a seq gap (next {device.seq + 1}, sent "
                          f"{batch[0]['seq']}) answered {status} {reply}")

    def follow(self, device: Device, at: int, limit: int) -> bool:
        """Pull one page of the account's feed after the device's cursor; whether more follow."""
        url = self.urls[at % len(self.urls)]
        path = f"/v1/sync/pull?limit={limit}" + (f"&after={device.cursor}" if device.cursor else "")
        status, page = self.log.call("GET", url, path, token=device.token)
        if status != 200:
            self._problem(f"device {device.device_id}: pull answered {status} {page}")
            return False
        device.followed.extend(page["entries"])
        device.cursor = page["next_cursor"]
        return page["has_more"]

    def look(self, device: Device, at: int) -> None:
        """Read the program (the version a device bases its next decisions on)."""
        url = self.urls[at % len(self.urls)]
        status, program = self.log.call("GET", url, "/v1/program", token=device.token)
        if status != 200:
            self._problem(f"device {device.device_id}: GET /v1/program answered {status} {program}")
            return
        device.version = program["version"]

    # ----- one device's life -------------------------------------------------------------------

    def run_device(self, device: Device, batches: int, rng: random.Random, decisions: float) -> None:
        at = rng.randrange(2)
        for _ in range(batches):
            at += 1
            if rng.random() < 0.25:
                self.look(device, at)
                at += 1
            if rng.random() < 0.06:
                gap = rng.randint(1, 3)
                self.gap(device, [random_fact(rng, device.seq + 1 + gap + i) for i in range(rng.randint(1, 5))], at)
                at += 1
            batch = []
            for i in range(rng.randint(1, 20)):
                seq = device.seq + 1 + i
                roll = rng.random()
                if roll < decisions:
                    batch.append(random_decision(rng, seq, device.version))
                elif roll < decisions + 0.03:
                    batch.append(bad_fact(rng, seq))
                else:
                    batch.append(random_fact(rng, seq))
            mode = rng.random()
            if mode < 0.06:
                self.race(device, batch, at)
                at += 1
            else:
                self.push_new(device, batch, at)
                if mode < 0.16:  # the reply was lost: the same batch again, elsewhere
                    at += 1
                    again = self.push(device, batch, at)
                    if [r["status"] for r in again["results"]] != ["duplicate"] * len(batch):
                        self._problem(f"device {device.device_id}: a re-sent batch answered "
                                      f"{[r['status'] for r in again['results']]}")
                elif mode < 0.24:  # lost, and resent with the next mutations appended (as a CLI does)
                    at += 1
                    more = [random_fact(rng, device.seq + 1 + i) for i in range(rng.randint(1, 5))]
                    self.push_new(device, batch + more, at)
            if rng.random() < 0.3:
                self.follow(device, at, rng.choice((7, 50, 500)))

    def run(self, batches: int, decisions: dict[int, float]) -> None:
        """Every device at once, each in its own thread, released together."""
        errors: list[tuple[Device, BaseException]] = []
        barrier = threading.Barrier(len(self.devices))

        def work(i: int, device: Device) -> None:
            rng = random.Random(self.seed * 1000 + i)
            try:
                barrier.wait()
                self.run_device(device, batches, rng, decisions.get(device.account, 0.1))
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append((device, e))

        threads = [threading.Thread(target=work, args=(i, d), daemon=True) for i, d in enumerate(self.devices)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert not any(t.is_alive() for t in threads), "a device thread did not finish"
        assert not errors, [f"device {d.device_id}: {type(e).__name__}: {e}" for d, e in errors]

    # ----- what was acknowledged --------------------------------------------------------------

    def first(self, mutation_id: str) -> Reply:
        """The one non-duplicate outcome of an acknowledged mutation."""
        return next(r for r in self.outcomes[mutation_id] if r.status != "duplicate")


def pull_all(log: Log, urls: list[str], token: str, limit: int) -> list[dict]:
    """The whole feed of the token's account, page by page, alternating servers."""
    entries: list[dict] = []
    cursor = ""
    for page_no in range(100_000):
        path = f"/v1/sync/pull?limit={limit}" + (f"&after={cursor}" if cursor else "")
        status, page = log.call("GET", urls[page_no % len(urls)], path, token=token)
        assert status == 200, f"pull answered {status}: {page}"
        entries.extend(page["entries"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return entries
    raise AssertionError("the feed never ended")
