"""Support for the crash tests: a server killed with SIGKILL while devices push, and restarted.

``Cluster`` is one ``python -m cli --db URL serve`` process (gunicorn: a master
and its worker, in a process group of their own) on a store. ``kill`` sends
SIGKILL to the whole group and ``start`` brings up a new server on the same
store (on a new free port, so nothing else can be listening where a device
connects).

``Fleet`` runs devices in threads, each with its own HTTP connection and its
own device token, as a real device would: new mutations get the next seqs,
a batch whose reply never came is sent again with the same ids and seqs
(sometimes with newer mutations appended), and sometimes a device moves on
and pushes only what came after the batch it lost; then the server answers
200 (the lost batch had committed) or 409 with ``expected_seq`` (it had not),
and the device resends from there. Every answer is kept for the checks in
``_crash_checks``.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.integration.pg_load import bad_fact, free_port, random_decision, random_fact, server_env

ROOT = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT = 60
MAX_BATCH = 40  # a backlog after several lost replies goes out in batches of at most this


# ----- the server --------------------------------------------------------------------------------


class Cluster:
    """One server process on a store, killed and restarted on demand; ``up`` is set while it serves."""

    def __init__(self, db_url: str, tmp: Path):
        self.db_url = db_url
        self.home = tmp / "server-home"
        self.home.mkdir(exist_ok=True)
        self.tmp = tmp
        self.logs: list[str] = []
        self.up = threading.Event()
        self.url = ""
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def launch(self) -> str:
        """Start a server process on a new port; its URL (not serving yet)."""
        port = free_port()
        self._log = self.tmp / f"server{self.starts}.log"
        self.starts += 1
        command = [sys.executable, "-m", "cli", "--db", self.db_url, "serve", "--port", str(port)]
        with self._log.open("wb") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=server_env(self.home), stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 180) -> None:
        """Start a server and wait until it is ready; then devices may use it."""
        url = self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited ({self.proc.returncode}): {self._log.read_text()}")
            if _ready(url):
                self.url = url
                self.up.set()
                return
            time.sleep(0.05)
        raise AssertionError(f"server did not start in {timeout}s: {self._log.read_text()}")

    def _group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)  # the master and its worker
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL to the whole process group, at once; wait until the master is gone."""
        self.up.clear()
        self._group(signal.SIGKILL)
        self.proc.wait(timeout=60)
        self.logs.append(self._log.read_text(errors="replace"))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.up.clear()
        self._group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._group(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.logs.append(self._log.read_text(errors="replace"))


def _ready(url: str) -> bool:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


# ----- HTTP --------------------------------------------------------------------------------------


class Connection:
    """One device's own HTTP connection to whichever server is up; reopened after a failure or a restart."""

    def __init__(self):
        self.url = ""
        self.conn: http.client.HTTPConnection | None = None

    def request(self, url: str, method: str, path: str, body: Any, token: str) -> tuple[int, Any, dict]:
        """Status, decoded body and headers; status 0 when no reply came (refused, reset, cut off)."""
        if self.conn is None or url != self.url:
            self.close()
            parts = urlsplit(url)
            self.url, self.conn = url, http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return 0, f"{type(e).__name__}: {e}", {}
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw[:300].decode("utf-8", "replace")
        return resp.status, payload, dict(resp.getheaders())

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


# ----- devices -----------------------------------------------------------------------------------


@dataclass
class Answer:
    """One mutation's result in a 200 push reply."""

    device_id: str
    seq: int
    status: str
    original_status: str | None
    result: Any


@dataclass
class PushingDevice:
    """One device's side of the protocol: its seqs, what the server has not acknowledged yet, its reads."""

    fleet: Fleet
    account: int
    device_id: str
    token: str
    rng: random.Random
    seq: int = 0  # the last seq given to a mutation
    acked: int = 0  # the server's last_seq as this device last learnt it
    pending: list[dict] = field(default_factory=list)
    skip_after: int = 0  # after a lost reply, push only the mutations after this seq (then follow 409)
    version: int | None = None
    cursor: str = ""
    http: Connection = field(default_factory=Connection)

    def make(self, count: int) -> None:
        for _ in range(count):
            self.seq += 1
            roll = self.rng.random()
            if roll < 0.1:
                m = random_decision(self.rng, self.seq, self.version)
            elif roll < 0.13:
                m = bad_fact(self.rng, self.seq)
            else:
                m = random_fact(self.rng, self.seq)
            self.add(m)

    def add(self, m: dict) -> None:
        assert m["seq"] == self.seq
        self.pending.append(m)
        self.fleet.sent_mutation(self, m)

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.12:
            self.look()
        elif roll < 0.24:
            self.follow()
        if not self.pending or self.rng.random() < 0.6:
            self.make(self.rng.randint(1, 12))
        batch = [m for m in self.pending if m["seq"] > self.skip_after][:MAX_BATCH]
        if not batch:
            self.make(self.rng.randint(1, 4))
            batch = [m for m in self.pending if m["seq"] > self.skip_after][:MAX_BATCH]
        self.send(batch)

    def send(self, batch: list[dict]) -> None:
        skipping = batch[0]["seq"] > self.acked + 1
        self.skip_after = 0
        status, body = self.fleet.push(self, batch)
        if status == 200:
            self.answered(batch, body)
        elif status == 409 and skipping:
            self.rewind(body)
        elif status == 0:
            self.fleet.count("lost replies")
            if self.rng.random() < 0.3:  # move on: push what came after the lost batch
                self.skip_after = batch[-1]["seq"]
        else:
            self.fleet.problem(f"device {self.device_id}: push of seqs {batch[0]['seq']}..{batch[-1]['seq']} "
                               f"(acked {self.acked}) answered {status} {str(body)[:300]}")

    def answered(self, batch: list[dict], body: dict) -> None:
        results = body.get("results") or []
        if [(r.get("mutation_id"), r.get("seq")) for r in results] != [(m["mutation_id"], m["seq"]) for m in batch]:
            self.fleet.problem(f"device {self.device_id}: results do not match the batch one for one")
            return
        for m, r in zip(batch, results):
            self.fleet.answer(self, m, r)
        if body.get("last_seq") != batch[-1]["seq"]:
            self.fleet.problem(f"device {self.device_id}: pushed up to seq {batch[-1]['seq']}, "
                               f"last_seq {body.get('last_seq')}")
        self.ack(int(body.get("last_seq") or 0), "skipped" if batch[0]["seq"] > self.acked + 1 else None)

    def rewind(self, body: Any) -> None:
        """409 after a lost reply: resend from the server's ``expected_seq`` (what it lacks)."""
        expected = body.get("expected_seq") if isinstance(body, dict) else None
        if not isinstance(expected, int) or not self.acked < expected <= self.seq:
            self.fleet.problem(f"device {self.device_id}: 409 with expected_seq {expected!r}, acked {self.acked}")
            return
        self.fleet.count("409s followed")
        self.ack(expected - 1, "409")

    def ack(self, up_to: int, how: str | None) -> None:
        """The server holds every seq up to ``up_to``; mutations it never answered for are noted."""
        if up_to < self.acked:
            self.fleet.problem(f"device {self.device_id}: the server went back from seq {self.acked} to {up_to}")
            return
        for m in self.pending:
            if m["seq"] <= up_to and how is not None:
                self.fleet.committed_unanswered(m, how)
        self.pending = [m for m in self.pending if m["seq"] > up_to]
        self.acked = up_to

    def look(self) -> None:
        status, program, _ = self.fleet.call(self, "GET", "/v1/program", None)
        if status == 200:
            self.version = program["version"]
        elif status != 0:
            self.fleet.problem(f"device {self.device_id}: GET /v1/program answered {status} {program}")

    def follow(self) -> None:
        path = f"/v1/sync/pull?limit={self.rng.choice((50, 500))}" + (f"&after={self.cursor}" if self.cursor else "")
        status, page, _ = self.fleet.call(self, "GET", path, None)
        if status == 200:
            self.cursor = page["next_cursor"]
        elif status != 0:
            self.fleet.problem(f"device {self.device_id}: pull answered {status} {page}")


class Fleet:
    """Devices pushing in threads against a ``Cluster``; every answer, status and problem kept."""

    def __init__(self, cluster: Cluster, seed: int):
        self.cluster = cluster
        self.seed = seed
        self.devices: list[PushingDevice] = []
        self.sent: dict[str, tuple[str, dict]] = {}  # mutation id -> (device id, mutation)
        self.answers: dict[str, list[Answer]] = defaultdict(list)
        self.unanswered: dict[str, str] = {}  # committed, acknowledged only by a later last_seq / expected_seq
        self.statuses: Counter = Counter()  # (method, route, status) of every request
        self.counts: Counter = Counter()
        self.problems: list[str] = []
        self.failures: list[str] = []  # 5xx replies
        self.latencies: list[float] = []
        self.inflight = 0
        self.push_started = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def add_device(self, account: int, device_id: str, token: str) -> PushingDevice:
        d = PushingDevice(self, account, device_id, token, random.Random(self.seed * 100 + len(self.devices)))
        self.devices.append(d)
        return d

    # ----- recording -------------------------------------------------------------------------

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)

    def sent_mutation(self, device: PushingDevice, m: dict) -> None:
        with self._lock:
            self.sent[m["mutation_id"]] = (device.device_id, m)

    def answer(self, device: PushingDevice, m: dict, r: dict) -> None:
        with self._lock:
            self.answers[m["mutation_id"]].append(Answer(device.device_id, m["seq"], r.get("status"),
                                                         r.get("original_status"), r.get("result")))

    def committed_unanswered(self, m: dict, how: str) -> None:
        with self._lock:
            if m["mutation_id"] not in self.answers:
                self.unanswered[m["mutation_id"]] = how

    # ----- requests --------------------------------------------------------------------------

    def call(self, device: PushingDevice, method: str, path: str, body: Any) -> tuple[int, Any, dict]:
        """One request to the server that is up now; 429 waits its Retry-After and asks again."""
        route = path.split("?")[0]
        for _ in range(50):
            if not self.cluster.up.wait(timeout=300):
                raise AssertionError("the server stayed down")
            status, reply, headers = device.http.request(self.cluster.url, method, path, body, device.token)
            with self._lock:
                self.statuses[(method, route, status)] += 1
                if status >= 500:
                    self.failures.append(f"{method} {route} {status}: {str(reply)[:300]}")
            if status != 429:
                return status, reply, headers
            time.sleep(float(headers.get("Retry-After", "1")))
        raise AssertionError(f"{method} {route}: still rate limited after 50 tries")

    def push(self, device: PushingDevice, batch: list[dict]) -> tuple[int, Any]:
        with self._lock:
            self.inflight += 1
        self.push_started.set()
        started = time.perf_counter()
        try:
            status, reply, _ = self.call(device, "POST", "/v1/sync/push", {"mutations": batch})
        finally:
            with self._lock:
                self.inflight -= 1
        if status == 200:
            with self._lock:
                self.latencies.append(time.perf_counter() - started)
        return status, reply

    def latency(self) -> float:
        with self._lock:
            recent = self.latencies[-50:]
        return statistics.median(recent) if recent else 0.2

    # ----- running ---------------------------------------------------------------------------

    def _work(self, device: PushingDevice, errors: list) -> None:
        try:
            while not self._stop.is_set():
                device.step()
        except BaseException as e:  # noqa: BLE001 (reported by run)
            errors.append(f"device {device.device_id}: {type(e).__name__}: {e}")

    def _kill_moment(self, rng: random.Random) -> None:
        """Sleep until a kill point: a random moment, or a random delay into a push (so before, during or
        after its batch commits)."""
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.05, 1.0))
            return
        self.push_started.clear()
        self.push_started.wait(timeout=60)
        time.sleep(rng.uniform(0, 1.5 * self.latency()))

    def _kill_booting(self, rng: random.Random) -> None:
        """A kill point while a restarted server boots (opening the store, setting up the read models)."""
        self.cluster.launch()
        time.sleep(rng.uniform(0, 1.5))
        self.cluster.kill()
        self.counts["kills while booting"] += 1

    def run(self, kills: int, rng: random.Random) -> None:
        """Devices push while the server is killed ``kills`` times (and restarted each time); now and then
        the restarted server is killed once more while it boots (not counted in ``kills``)."""
        errors: list[str] = []
        threads = [threading.Thread(target=self._work, args=(d, errors), daemon=True) for d in self.devices]
        for t in threads:
            t.start()
        try:
            for _ in range(kills):
                self._kill_moment(rng)
                with self._lock:
                    busy = self.inflight
                self.cluster.kill()
                self.counts["kills"] += 1
                self.counts["kills with a push in flight"] += bool(busy)
                if rng.random() < 0.1:
                    self._kill_booting(rng)
                self.cluster.start()
                time.sleep(rng.uniform(0, 0.3))  # some work on the new server before the next kill point
        finally:
            self._stop.set()
            for t in threads:
                t.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "a device thread did not finish"
        assert not errors, errors

    def flush(self) -> None:
        """With the server up for good, each device pushes until the server holds all its mutations."""
        for d in self.devices:
            for _ in range(200):
                if not d.pending:
                    break
                d.send([m for m in d.pending if m["seq"] > d.skip_after][:MAX_BATCH] or d.pending[:MAX_BATCH])
            assert not d.pending, f"device {d.device_id}: {len(d.pending)} mutations never acknowledged"

    def first(self, mutation_id: str) -> Answer | None:
        """The original (non-duplicate) answer for a mutation, if a reply ever carried it."""
        return next((a for a in self.answers.get(mutation_id, []) if a.status != "duplicate"), None)
