"""Benchmark: the costliest requests a client can send within the caps, each against a valid 500-mutation push.

    python bench/abuse.py [--repeats 5] [--history 15000] [--db URL] [--json]

One real server (``python -m cli --db URL serve``, one gunicorn worker, SQLite
in a temporary directory by default; a PostgreSQL ``--db`` URL needs a
``?schema=NAME`` that does not exist yet, made and dropped here). The baseline,
measured in the same run and interleaved with the shapes, is a valid push of
500 new facts (``bench/sync.py``'s workload). Each shape is sent ``--repeats``
times; for each, the server's CPU (user + system of its processes, from
``/proc``) and the client's wall time are taken, and the medians are compared
with the baseline's: ``ratio`` = shape CPU / valid push CPU.

Push shapes (issue 10, item 2): 250,000 empty objects and 400,000 integers
(over the batch cap: 413 before any element is validated), 500 empty objects
and 500 integers (400, at most ``MAX_LISTED_ERRORS`` problems listed), 500
mutations all rejected (an unknown exercise), 500 duplicates (a batch sent
again), 500 mutations whose args nest 30 levels deep, a body of 100,000 NUL
strings (400 naming text the store cannot keep), 500 logs with 40 tension
observations each (valid, the largest facts the caps allow).

Read shapes (item 3), after ``--history`` logs with 1.2 KB notes and an
untimed read that catches the projections up: ``/v1/sessions`` over all time
(the default page, and the largest page), ``/v1/recap`` and ``/v1/history``
over all time (a recap over more than ``MAX_RECAP_DAYS`` is refused), and the
largest pull page.

The bound the API holds: every shape costs at most ``BOUND`` times the valid
push (``within_bound`` per shape, ``all_within_bound`` overall).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(HERE), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

import sync  # bench/sync.py: the workload, the server, the client, the stores

from service.accounts import create_account
from service.application import open_app

#: No request within the caps may cost more than this many valid 500-mutation pushes (server CPU).
BOUND = 3.0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cpu_seconds(server: sync.Server) -> float:
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in sync._tree(server.proc.pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


class Raw:
    """One keep-alive connection that takes any status (the shapes are refused on purpose)."""

    def __init__(self, port: int, token: str):
        import http.client

        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def send(self, method: str, path: str, body: bytes | None = None) -> tuple[int, int]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        while True:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
            if response.status != 429:
                return response.status, len(data)
            time.sleep(float(response.getheader("Retry-After") or 1))  # not timed: see Bench.timed


def _mutation(seq: int, type_: str, args: Any) -> dict:
    return {"mutation_id": str(uuid.uuid4()), "seq": seq, "type": type_,
            "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "base_version": None, "args": args}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


class Bench:
    def __init__(self, a: argparse.Namespace, url: str, tmp: str):
        self.a = a
        app = open_app(url)
        try:
            made = create_account(app, "abuse bench")
        finally:
            app.close()
        os.environ["BACKSTORY_RATE_LIMIT"] = "100000"  # the limiter is tested elsewhere; here only the cost
        os.environ["BACKSTORY_RATE_BURST"] = "100000"
        os.environ["BACKSTORY_ACCOUNT_RATE_LIMIT"] = "100000"
        os.environ["BACKSTORY_ACCOUNT_RATE_BURST"] = "100000"
        self.server = sync.Server(url, tmp)
        self.server.wait_ready()
        self.work = sync.Workload(a.seed, datetime.now(UTC))
        self.client = Raw(self.server.port, made["token"])
        status, _ = self.client.send("POST", "/v1/sync/push", sync.push_body(self.work.setup()))
        assert status == 200, status
        self.samples: dict[str, list[tuple[float, float, int, int]]] = {}

    def timed(self, name: str, method: str, path: str, body: bytes | None, expect: int) -> None:
        cpu0, t0 = cpu_seconds(self.server), time.perf_counter()
        status, size = self.client.send(method, path, body)
        wall, cpu = time.perf_counter() - t0, cpu_seconds(self.server) - cpu0
        if status != expect:
            log(f"   {name}: answered {status}, expected {expect}")
        self.samples.setdefault(name, []).append((cpu, wall, status, size))

    def seq(self, n: int) -> int:
        first = self.work.seq + 1
        self.work.seq += n
        return first

    def valid(self) -> bytes:
        return sync.push_body(self.work.facts(500))

    def round(self) -> None:
        push = "/v1/sync/push"
        body = self.valid()
        self.timed("valid_500", "POST", push, body, 200)
        self.timed("duplicate_500", "POST", push, body, 200)
        self.timed("empty_objects_250k", "POST", push, json.dumps({"mutations": [{}] * 250_000}).encode(), 413)
        self.timed("integers_400k", "POST", push, json.dumps({"mutations": [1] * 400_000}).encode(), 413)
        self.timed("empty_objects_500", "POST", push, json.dumps({"mutations": [{}] * 500}).encode(), 400)
        self.timed("integers_500", "POST", push, json.dumps({"mutations": [1] * 500}).encode(), 400)
        first = self.seq(500)
        rejected = [_mutation(first + i, "log", {"exercise": "No such exercise", "pain_before": 3})
                    for i in range(500)]
        self.timed("all_rejected_500", "POST", push, sync.push_body(rejected), 200)
        first = self.seq(500)
        nested = [_mutation(first + i, "log", {"exercise": "Dead bug", "tension": _nested(28)}) for i in range(500)]
        self.timed("nested_args_500", "POST", push, sync.push_body(nested), 200)
        nul = {"mutations": [_mutation(1, "log", {"note": ["\u0000"] * 100_000})]}
        self.timed("nul_strings_100k", "POST", push, json.dumps(nul).encode(), 400)
        first = self.seq(500)
        tension = [_mutation(first + i, "log", {"exercise": "Bird dog", "tension": [
            f"{sync.MUSCLES[j % 8]}:left:overactive:{j % 9 + 1}" for j in range(40)]}) for i in range(500)]
        body = sync.push_body(tension)
        assert len(body) < 1024 * 1024, len(body)
        self.timed("tension_40_x_500", "POST", push, body, 200)

    def history(self) -> None:
        """``--history`` logs with 1.2 KB notes, pushed untimed, for the read shapes."""
        note = ("a long note about the session " * 40)[:1200]
        left = self.a.history
        while left > 0:
            n = min(500, left)
            first = self.seq(n)
            batch = [_mutation(first + i, "log", {"exercise": "Dead bug", "pain_before": 3, "note": note})
                     for i in range(n)]
            status, _ = self.client.send("POST", "/v1/sync/push", sync.push_body(batch))
            assert status == 200, status
            left -= n
        assert self.client.send("GET", "/v1/signature")[0] == 200  # the projections catch up, untimed

    def reads(self) -> None:
        everything = "since=1901-01-01&until=9999-12-30"
        self.timed("valid_500", "POST", "/v1/sync/push", self.valid(), 200)
        # Untimed: the projections catch up with that push here, not inside the first timed read.
        assert self.client.send("GET", "/v1/signature")[0] == 200
        self.timed("sessions_all_time", "GET", f"/v1/sessions?{everything}", None, 200)
        self.timed("sessions_largest_page", "GET", f"/v1/sessions?{everything}&limit=500", None, 200)
        year = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
        self.timed("recap_longest_range", "GET", f"/v1/recap?since={year}", None, 200)
        self.timed("recap_all_time", "GET", f"/v1/recap?{everything}", None, 400)
        self.timed("history_all_time", "GET", f"/v1/history?{everything}", None, 200)
        self.timed("pull_largest_page", "GET", "/v1/sync/pull?limit=1000", None, 200)

    def figures(self) -> dict[str, Any]:
        base_cpu = statistics.median(s[0] for s in self.samples["valid_500"])
        base_wall = statistics.median(s[1] for s in self.samples["valid_500"])
        shapes = {}
        for name, runs in self.samples.items():
            cpu = statistics.median(s[0] for s in runs)
            wall = statistics.median(s[1] for s in runs)
            ratio = max(cpu / base_cpu, wall / base_wall) if base_cpu else wall / base_wall
            shapes[name] = {"cpu_ms": round(cpu * 1000, 1), "wall_ms": round(wall * 1000, 1),
                            "ratio": round(ratio, 2), "status": runs[0][2], "reply_bytes": runs[0][3],
                            "runs": len(runs), "within_bound": ratio <= BOUND}
        return {"bound": BOUND, "baseline": "valid_500", "shapes": shapes,
                "all_within_bound": all(s["within_bound"] for s in shapes.values())}

    def stop(self) -> None:
        self.server.stop()


def table(f: dict[str, Any]) -> str:
    rows = [f"{'shape':<24} {'status':>6} {'reply B':>9} {'CPU ms':>8} {'wall ms':>8} {'ratio':>6}"]
    for name, s in f["shapes"].items():
        rows.append(f"{name:<24} {s['status']:>6} {s['reply_bytes']:>9} {s['cpu_ms']:>8} {s['wall_ms']:>8} "
                    f"{s['ratio']:>6}{'' if s['within_bound'] else '  OVER'}")
    rows.append(f"ratio = max(CPU, wall) / valid_500's; bound {f['bound']}: "
                f"{'all within' if f['all_within_bound'] else 'EXCEEDED'}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--history", type=int, default=15_000, help="logs with 1.2 KB notes before the read shapes")
    p.add_argument("--db", default=None)
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-abuse-")
    stores = sync.Stores(a.db)
    bench = None

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        url = stores.url
        bench = Bench(a, url, tmp)
        for i in range(a.repeats):
            log(f"push shapes, round {i + 1}/{a.repeats}")
            bench.round()
        log(f"history: {a.history} logs with 1.2 KB notes")
        bench.history()
        for i in range(a.repeats):
            log(f"read shapes, round {i + 1}/{a.repeats}")
            bench.reads()
        figures = bench.figures()
    finally:
        if bench is not None:
            bench.stop()
        stores.close()
    print(json.dumps(figures, indent=2) if a.json else table(figures))
    return 0 if figures["all_within_bound"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
