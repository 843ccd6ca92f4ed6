"""PostgreSQL with several server processes: devices of different accounts pushing to ``serve --workers N``,
the table lock sampled, the machine's and the server tree's CPU, and the follower's pace
(``bench/run.py``'s ``pg_push_*`` and ``projection_*`` figures).
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import follow
import sync


class LockSampler:
    """Samples ``pg_locks`` on the store's ``stored_events`` table: is the table lock held, how many wait."""

    def __init__(self, env: dict[str, str], schema: str, table: str, interval: float = 0.02):
        import psycopg

        self.conn = psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                                    port=int(env["POSTGRES_PORT"]), user=env["POSTGRES_USER"],
                                    password=env.get("POSTGRES_PASSWORD") or None, autocommit=True)
        self.relation = self.conn.execute("select to_regclass(%s)::oid", (f'"{schema}"."{table}"',)).fetchone()[0]
        self.interval = interval
        self.samples: list[tuple[int, int]] = []  # (held, waiting)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        query = ("select count(*) filter (where granted and mode = 'ExclusiveLock'), count(*) filter (where not granted) "
                 "from pg_locks where locktype = 'relation' and relation = %s")
        while not self._stop.is_set():
            held, waiting = self.conn.execute(query, (self.relation,)).fetchone()
            self.samples.append((held, waiting))
            self._stop.wait(self.interval)

    def __enter__(self) -> LockSampler:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.conn.close()

    def summary(self) -> dict[str, Any]:
        n = len(self.samples) or 1
        return {"lock_held_share": round(sum(1 for h, _ in self.samples if h) / n, 3),
                "lock_waiting_share": round(sum(1 for _, w in self.samples if w) / n, 3),
                "lock_waiters_avg": round(sum(w for _, w in self.samples) / n, 2),
                "lock_samples": len(self.samples)}


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def _tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children (gunicorn master and workers)."""
    total = 0.0
    for p in sync._tree(pid):
        try:
            parts = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def concurrent_push(base_url: str, schema: str, workers: int, devices: int, per_device: int,
                    seed: int, backlog: int = 0) -> dict[str, Any]:
    """``devices`` devices, each of its own account, push ``per_device`` facts at once (batches of 500).

    With ``backlog``, each device first pushes that many facts (untimed) to a first server; the read
    models are then dropped and a second server started, so its follower starts that far behind (with
    the setup too) and is busy throughout the timed pushes. The projections' positions are read at the
    start and the end of the pushes: ``projection_per_s`` (events they applied meanwhile, per second)
    against ``push_events_per_s`` (events the pushes stored, per second). A ratio of 1.0 or more
    means the lag did not grow while several writers pushed.
    """
    stores = sync.Stores(sync._with_schema(base_url, schema))
    try:
        accounts, table = stores.accounts("bench", devices)
        end = datetime.now(UTC) - timedelta(hours=1)
        works = [sync.Workload(seed * 1000 + i, end) for i in range(devices)]
        setups = [w.setup() for w in works]
        earlier = [w.facts(backlog) if backlog else [] for w in works]
        facts = [w.facts(per_device) for w in works]
        bodies = [[(b, sync.push_body(b)) for b in sync.batches(f)] for f in facts]

        server = sync.Server(stores.url, stores.tmp, workers=workers, name=f"server-w{workers}")
        try:
            start_s = server.wait_ready()
            for account, setup, before in zip(accounts, setups, earlier):  # untimed: init, adds, any backlog
                client = sync.Client(server.port, account["token"])
                for batch in [setup, *sync.batches(before)]:
                    sync.check_applied(batch, client.push(sync.push_body(batch)))
                client.close()
            if backlog:
                server.stop()
                _drop_read_models(stores.url)
                server = sync.Server(stores.url, stores.tmp, workers=workers, name=f"server-w{workers}-behind")
                start_s = server.wait_ready()
                _wait_for_follower(stores, schema, table, server)

            barrier = threading.Barrier(devices + 1)
            done: list[float] = [0.0] * devices
            latencies: list[float] = []
            errors: list[BaseException] = []
            rate_limited = [0] * devices

            def device(i: int) -> None:
                client = sync.Client(server.port, accounts[i]["token"])
                try:
                    barrier.wait()
                    for batch, body in bodies[i]:
                        t0 = time.perf_counter()
                        reply = client.push(body)
                        latencies.append(time.perf_counter() - t0)
                        sync.check_applied(batch, reply)
                    done[i] = time.perf_counter()
                except BaseException as e:  # noqa: BLE001 - reported after the join
                    errors.append(e)
                    barrier.abort()
                finally:
                    rate_limited[i] = client.rate_limited
                    client.close()

            threads = [threading.Thread(target=device, args=(i,), daemon=True) for i in range(devices)]
            for t in threads:
                t.start()
            with LockSampler(stores.env, schema, table) as sampler, stores._pg() as conn:
                cpu0, server_cpu0 = _machine_cpu(), _tree_cpu_s(server.proc.pid)
                barrier.wait()
                t_start = time.perf_counter()
                head0, low0 = follow.positions(conn, schema, table)
                moves = [(0.0, low0)]  # (time, lowest position) each time the projections committed a step
                while any(t.is_alive() for t in threads):
                    time.sleep(0.05)
                    low = follow.positions(conn, schema, table)[1]
                    if low != moves[-1][1]:
                        moves.append((time.perf_counter() - t_start, low))
                for t in threads:
                    t.join()
                head1, low1 = follow.positions(conn, schema, table)
                cpu1, server_cpu1 = _machine_cpu(), _tree_cpu_s(server.proc.pid)
            if errors:
                raise RuntimeError(f"{len(errors)} device(s) failed; first: {errors[0]!r}\n{server.tail()}")
            wall = max(done) - t_start
            peak, peak_total = server.peak_rss_mb()
        finally:
            server.stop()
        total = devices * per_device
        expected = total + sum(len(setup) for setup in setups) + devices * backlog
        stored = _count_records(stores, table)
        if stored != expected:
            raise RuntimeError(f"{stored} mutation records stored for {expected} mutations pushed")
        return {"per_s": round(total / wall, 1), "facts": total, "s": round(wall, 2), "workers": workers,
                "devices": devices, "batch_p50_ms": round(sync.percentile(latencies, 50) * 1000, 1),
                "batch_p99_ms": round(sync.percentile(latencies, 99) * 1000, 1),
                "server_peak_rss_mb": round(peak, 1), "server_peak_rss_total_mb": round(peak_total, 1),
                "server_start_s": round(start_s, 2), "rate_limited": sum(rate_limited),
                "server_cpu_s": round(server_cpu1 - server_cpu0, 2),
                "server_cpu_ms_per_fact": round((server_cpu1 - server_cpu0) * 1000 / total, 3),
                "machine_busy_share": round((cpu1[0] - cpu0[0]) / max(cpu1[1] - cpu0[1], 1), 3),
                "push_events_per_s": round((head1 - head0) / wall, 1),
                "projection_per_s": _rate(moves, low1 - low0, wall),
                "lag_start": head0 - low0, "lag_end": head1 - low1, "backlog_facts": devices * backlog,
                **sampler.summary()}
    finally:
        stores.close()


def _rate(moves: list[tuple[float, int]], applied: int, wall: float) -> float:
    """Events per second between the first and the last step the projections committed during the pushes.

    The position moves by whole steps (up to 2,000 events): counted from step to step, not from the start
    to the end of the window, a step that straddles either end does not skew the rate. With fewer than
    two steps, what was applied over the window.
    """
    steps = moves[1:]
    if len(steps) < 2 or steps[-1][0] <= steps[0][0]:
        return round(applied / wall, 1)
    return round((steps[-1][1] - steps[0][1]) / (steps[-1][0] - steps[0][0]), 1)


def _wait_for_follower(stores: sync.Stores, schema: str, table: str, server: sync.Server,
                       timeout: float = 60.0) -> None:
    """Wait until the server's follower has applied its first step (its process is up and working)."""
    deadline = time.perf_counter() + timeout
    with stores._pg() as conn:
        while follow.positions(conn, schema, table)[1] == 0:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the follower applied nothing in {timeout:.0f} s:\n{server.tail()}")
            time.sleep(0.05)


def _drop_read_models(url: str) -> None:
    """Drop every read-model table of a store (the next ``Projections`` makes them anew, at position 0)."""
    from projections.engine import make_engine
    from projections.tables import metadata

    engine = make_engine(url)
    try:
        metadata.drop_all(engine)
    finally:
        engine.dispose()


def _count_records(stores: sync.Stores, table: str) -> int:
    """Mutation records in the store: every mutation pushed must have exactly one."""
    with stores._pg() as conn:
        return conn.execute(f'select count(*) from "{stores.env["POSTGRES_SCHEMA"]}"."{table}" '
                            "where topic = 'domain.mutations:MutationRecord.Processed'").fetchone()[0]


