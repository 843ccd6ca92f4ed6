"""The benchmark suite: every figure of issue 4 next to its baseline, in one run.

    python bench/run.py [--quick] [--json] [--pg URL | --no-pg] [--seed S]

Figures (each measured in the same run as its baseline, so ratios hold on a noisy machine):

- SQLite sync (``bench/sync.py``'s phases, a temporary store): ``push_per_s`` (facts pushed over HTTP
  in batches of 500 to one server process) against ``raw_append_per_s`` (the same events saved
  straight through ``BackstoryApp.save`` per batch of 500, best of a run before and after the push),
  ``push_ratio``; ``server_peak_rss_mb`` (largest VmHWM of the server's processes after the push);
  ``pull_per_s`` (fresh devices pull the whole feed) against a plain SQL select of the same rows,
  ``pull_ratio``.
- ``sqlite_projection_per_s`` (context): the events per second the projections absorb catching up from
  zero on that pushed history (the read-model tables dropped, then ``Projections(app, url).catch_up()`` timed).
- PostgreSQL (a fresh schema per measurement, made and dropped with psycopg): ``pg_push_per_s``,
  ``pg_raw_append_per_s``, ``pg_push_ratio`` as above; ``pg_push_per_s_1`` and ``pg_push_per_s_n``:
  several devices of different accounts push at once to ``python -m cli --db URL serve --workers W``
  with W = 1 and W = N (2..4), while ``pg_locks`` is sampled to see how often the event store's
  table lock (``LOCK TABLE ... IN EXCLUSIVE MODE`` on every insert) is held and waited for.
- ``projection_per_s`` (PostgreSQL, several writers): the same devices push again to W = N processes
  whose follower (``backstory projections follow``, as ``serve`` starts it) starts behind by as many
  facts again (pushed first, then the read models dropped and the server restarted): the events the
  projections applied during the pushes per second, against ``pg_push_events_per_s``, the events the
  pushes stored per second in the same window; ``projection_ratio`` = projection / push must be 1.0
  or more (the lag does not grow while several writers push).
- As of a date (``bench/history.py``'s builder, SQLite): the program as of random dates on a 10,000-event
  and a 100,000-event history. Cold = a fresh ``BackstoryApp`` (as a new CLI or server process opens
  it) + ``ledger.program().view(as_of)``; ``as_of_ms_small``/``as_of_ms_large`` are the cold medians,
  ``as_of_ratio`` = large / small; the warm figure (``view`` on a loaded Program) is reported apart.
- ``dashboard_ms`` (``bench/dashboard.py``): the web dashboard's program page at random days of a 5-year
  history held by an account (``dashboard_events`` events), server time in process, median; against the JSON
  endpoint ``/v1/program`` at the same days (``dashboard_ratio``).
- ``cli_help_ratio``: ``backstory --help`` as a whole process against ``python -c "import click"``
  (interleaved runs, medians, bytecode cached in a temporary PYTHONPYCACHEPREFIX).
- ``cli_show_ratio``: ``backstory --db URL show`` as a whole process, on a SQLite store holding a year
  of history (10,000 events, ``bench/history.py``'s builder, built once per run), against the same
  ``python -c "import click"`` runs (interleaved with them and with ``--help``).
- ``report_s``: ``backstory --db URL report --since START --until END --out FILE`` as a whole process over
  the whole 5-year, 50,000-event history (built next to the as-of stores), median wall time; against the floor of its
  imports (``python -c "import matplotlib.pyplot, jinja2"``) and the default (last month's) report,
  interleaved, each with its CPU time.
- ``insight_month_ms``, ``insight_all_ms``, ``day_ms`` (``bench/insights.py``): the insight commands
  (sessions, tension, breaks, flares, fitting report, day) as whole processes on that history, the slowest
  command's median for a one-month and a whole-history question.

``--quick`` (about 2 minutes on 2 cores): 2,000 pushed facts, 10,000 pulled entries, 4 concurrent
devices x 1,000 facts (x 2,000, and as many behind, for ``projection_per_s``), the same
10,000/100,000-event histories. Full: 10,000 facts, 50,000 entries, 8 devices x 2,000 facts. ``--json`` prints one JSON object on stdout (progress goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(HERE), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

# bench/history.py: the history builder; bench/asof.py: as-of queries, process timing; bench/sync.py: workload, server, client, stores;
# bench/follow.py: the projections' positions; bench/insights.py: the insight commands as processes
import asof
import history
import dashboard
import follow
import insights
import sync

from service.accounts import create_account
from service.application import BackstoryApp
from service.config import parse_store

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

SIZES = {
    "quick": {"facts": 2_000, "pull": 10_000, "asof_small": 10_000, "asof_large": 100_000, "asof_dates": 41,
              "warm_repeats": 15, "help_runs": 21, "year_events": 10_000, "devices": 4, "device_facts": 1_000, "pull_repeats": 3,
              "pg_rounds": 1, "report_runs": 3, "keep_facts": 2_000, "insight_runs": 3, "dashboard_events": 10_000,
              "dashboard_dates": 41},
    "full": {"facts": 10_000, "pull": 50_000, "asof_small": 10_000, "asof_large": 100_000, "asof_dates": 81,
             "warm_repeats": 30, "help_runs": 31, "year_events": 10_000, "devices": 8, "device_facts": 2_000, "pull_repeats": 3,
             "pg_rounds": 2, "report_runs": 5, "keep_facts": 2_000, "insight_runs": 5, "dashboard_events": 100_000,
             "dashboard_dates": 81},
}

TARGETS = [
    # figure, comparison, limit (a number, or the name of another figure), applies when present
    ("push_ratio", ">=", 0.5),
    ("pg_push_ratio", ">=", 0.5),
    ("pull_ratio", ">=", 0.3),
    ("as_of_ms_large", "<=", 20.0),
    ("as_of_ratio", "<=", 2.0),
    ("projection_ratio", ">=", 1.0),
    ("cli_help_ratio", "<=", 1.5),
    ("cli_show_ratio", "<=", 2.5),
    ("server_peak_rss_mb", "<=", 200.0),
    ("report_s", "<=", 3.0),
    ("insight_month_ms", "<=", 300.0),
    ("insight_all_ms", "<=", 2000.0),
    ("day_ms", "<=", 200.0),
    ("dashboard_ms", "<", dashboard.TARGET_MS),
]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Phases:
    """Wall time of each part of the run, for the report."""

    def __init__(self) -> None:
        self.took: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        log(f"== {name}")
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self.took[name] = round(time.perf_counter() - t0, 1)
            log(f"   {name}: {self.took[name]:.1f} s")


# ----- backstory --help and show against import click ---------------------------------------------


def backstory_command() -> tuple[list[str], str]:
    """The console script next to this interpreter (else ``python -m cli``), and how to name it."""
    py = sys.executable
    script = shutil.which("backstory", path=str(Path(py).parent)) or shutil.which("backstory")
    return ([script], "backstory") if script else ([py, "-m", "cli"], "python -m cli")


def cli_processes(runs: int, tmp: str, year: dict[str, Any]) -> dict[str, Any]:
    """``backstory --help``, ``backstory show`` (on ``year``'s store) and ``python -c "import click"``
    as whole processes, interleaved; medians."""
    home = str(Path(tmp) / "cli-home")
    cached, _ = asof.process_envs(home)
    py = sys.executable
    backstory, command = backstory_command()
    helps = [*backstory, "--help"]
    shows = [*backstory, "--db", f"sqlite:///{year['env']['SQLITE_DBNAME']}", "show"]
    click = [py, "-c", "import click"]
    for args in (click, helps, shows):  # warm-up: the bytecode cache, the OS file cache, this home's device id
        asof.run_process(args, cached)
    shown = subprocess.run([*shows, "--json"], cwd=ROOT, env=cached, capture_output=True, text=True, check=True)
    exercises = len(json.loads(shown.stdout)["exercises"])
    if not exercises:
        raise RuntimeError("backstory show listed no exercises on the year's store")
    t_click, t_help, t_show = [], [], []
    for _ in range(runs):
        t_click.append(asof.run_process(click, cached))
        t_help.append(asof.run_process(helps, cached))
        t_show.append(asof.run_process(shows, cached))
    click_ms = statistics.median(t_click) * 1000
    help_ms = statistics.median(t_help) * 1000
    show_ms = statistics.median(t_show) * 1000
    best = min(t_show) / min(t_click)  # context: the fastest runs, least disturbed by other jobs on the machine
    return {"cli_help_ratio": round(help_ms / click_ms, 3), "cli_show_ratio": round(show_ms / click_ms, 3),
            "cli_help_ms": round(help_ms, 1), "cli_show_ms": round(show_ms, 1), "import_click_ms": round(click_ms, 1),
            "cli_help_command": f"{command} --help", "cli_show_command": f"{command} --db URL show",
            "cli_help_runs": runs, "show_store_events": year["events"],
            "show_store_days": (year["end"] - year["start"]).days, "show_exercises": exercises,
            "cli_show_ratio_best": round(best, 3)}


def _cpu_of(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one whole process, which must succeed."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = asof.run_process(args, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def report_processes(runs: int, tmp: str, history: dict[str, Any]) -> dict[str, Any]:
    """``backstory report`` of the whole 5-year history as a whole process (``report_s``), against the
    floor of its imports (``python -c "import matplotlib.pyplot, jinja2"``) and the default month's report,
    interleaved; medians of wall time, with the CPU time of the same runs."""
    home = str(Path(tmp) / "report-home")
    cached, _ = asof.process_envs(home)
    backstory, command = backstory_command()
    url = f"sqlite:///{history['env']['SQLITE_DBNAME']}"
    out = Path(tmp) / "report.html"
    runs_of = {
        "whole": [*backstory, "--db", url, "report", "--since", history["start"].isoformat(),
                  "--until", history["end"].isoformat(), "--out", str(out)],
        "month": [*backstory, "--db", url, "report", "--out", str(out)],
        "floor": [sys.executable, "-c", "import matplotlib.pyplot, jinja2"],
    }
    for args in runs_of.values():  # warm-up: bytecode, matplotlib's font cache, the OS file cache
        asof.run_process(args, cached)
    wall: dict[str, list[float]] = {k: [] for k in runs_of}
    cpu: dict[str, list[float]] = {k: [] for k in runs_of}
    sizes = {}
    for _ in range(runs):
        for name, args in runs_of.items():
            w, c = _cpu_of(args, cached)
            wall[name].append(w)
            cpu[name].append(c)
            if name != "floor":
                sizes[name] = out.stat().st_size
    med = {k: statistics.median(v) for k, v in wall.items()}
    return {"report_s": round(med["whole"], 2), "report_cpu_s": round(statistics.median(cpu["whole"]), 2),
            "report_month_s": round(med["month"], 2), "report_month_cpu_s": round(statistics.median(cpu["month"]), 2),
            "report_floor_s": round(med["floor"], 2), "report_best_s": round(min(wall["whole"]), 2),
            "report_kb": round(sizes["whole"] / 1024), "report_month_kb": round(sizes["month"] / 1024),
            "report_runs": runs, "report_command": f"{command} --db URL report --since START --until END --out FILE",
            "report_days": (history["end"] - history["start"]).days, "report_events": history["events"]}


# ----- sync push and pull (bench/sync.py's phases), and the projections catching up --------------


def sync_args(size: dict, seed: int, pull: bool) -> argparse.Namespace:
    return argparse.Namespace(facts=size["facts"], pull=size["pull"] if pull else 0, days=60.0,
                              repeats=size["pull_repeats"], seed=seed)


def sync_bench(stores: sync.Stores, size: dict, seed: int, pull: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    bench = sync.SyncBench(sync_args(size, seed, pull), stores, figures)
    try:
        bench.push()
        if pull:
            bench.pull()
    finally:
        bench.stop()
    return figures


def projections_from_zero(url: str) -> dict[str, Any]:
    """Drop the read models of a store, then time ``Projections(app, url).catch_up()`` from position 0.

    Making the empty tables (``Projections(...)``) is not timed; the catch-up is, and it must leave
    every projection at the head of the notification log.
    """
    from projections import Projections
    from projections.tables import metadata

    _drop_read_models(url)
    app = BackstoryApp(parse_store(url).env)
    try:
        head = app.recorder.max_notification_id() or 0
        projections = Projections(app, url)
        try:
            t0 = time.perf_counter()
            applied = projections.catch_up()
            took = time.perf_counter() - t0
            lag = max(s["lag"] for s in projections.status())
        finally:
            projections.close()
    finally:
        app.close()
    if lag:
        raise RuntimeError(f"the projections caught up {applied} notifications but still lag {lag} behind {head}")
    return {"per_s": round(applied / took, 1), "events": applied, "s": round(took, 2),
            "projections": len(metadata.tables)}


# ----- PostgreSQL: several devices of different accounts, 1 and N server processes ---------------


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
        app = BackstoryApp(stores.env)
        try:
            accounts = [create_account(app, f"bench {i + 1}") for i in range(devices)]
            table = app.recorder.events_table_name
        finally:
            app.close()
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


# ----- the program as of a date -------------------------------------------------------------------


def build_history(tmp: str, events: int, seed: int, name: str, years: float = history.YEARS) -> dict[str, Any]:
    """A SQLite store holding ``events`` domain events of one program over ``years`` (bench/history.py's builder)."""
    url = f"sqlite:///{tmp}/asof-{name}.sqlite"
    env = parse_store(url).env
    ledger = asof.open_ledger(env)
    end = datetime.now(history.TZ).date() - timedelta(days=1)
    builder = history.Builder(ledger, events, seed, end, progress=lambda text: log(f"  {name}:{text}"), years=years)
    t0 = time.perf_counter()
    builder.run()
    took = time.perf_counter() - t0
    ledger.app.close()
    return {"env": env, "events": builder.decisions + builder.facts, "decisions": builder.decisions,
            "start": builder.start, "end": builder.end, "build_s": round(took, 1),
            "db_bytes": Path(env["SQLITE_DBNAME"]).stat().st_size}


def asof_queries(histories: dict[str, dict], n_dates: int, warm_repeats: int, seed: int) -> dict[str, Any]:
    """Cold and warm as-of queries at random dates of each history; cold runs interleaved between them."""
    rng = random.Random(seed)
    for h in histories.values():
        days = (h["end"] - h["start"]).days
        h["dates"] = [h["start"] + timedelta(days=rng.randint(1, days)) for _ in range(n_dates)]
        h["cold"], h["open"], h["query"], h["warm"] = [], [], [], []

    def cold(h: dict, as_of: datetime):
        t0 = time.perf_counter()
        ledger = asof.open_ledger(h["env"])
        t1 = time.perf_counter()
        view = ledger.program().view(as_of)
        t2 = time.perf_counter()
        ledger.app.close()
        return t1 - t0, t2 - t1, view

    for h in histories.values():  # warm-up: imports, the OS file cache
        cold(h, asof.end_of_day(h["dates"][0]))
    for i in range(n_dates):
        for h in histories.values():
            t_open, t_query, _ = cold(h, asof.end_of_day(h["dates"][i]))
            h["open"].append(t_open)
            h["query"].append(t_query)
            h["cold"].append(t_open + t_query)

    out: dict[str, Any] = {}
    for name, h in histories.items():
        ledger = asof.open_ledger(h["env"])
        app = ledger.app
        program = ledger.program()
        for d in h["dates"]:
            as_of = asof.end_of_day(d)
            runs = []
            for _ in range(warm_repeats):
                t0 = time.perf_counter()
                program.view(as_of)
                runs.append(time.perf_counter() - t0)
            h["warm"].append(statistics.median(runs))
        # The indexed view must be the plain replay's, at two of the dates.
        decisions = ledger.decisions()
        for d in (h["dates"][0], h["dates"][-1]):
            as_of = asof.end_of_day(d)
            replayed = asof.materialize(asof.fold(decisions, as_of))
            if asof.view_dict(program.view(as_of)) != asof.view_dict(replayed):
                raise RuntimeError(f"as of {d}: the indexed view and the replay differ ({name} history)")
        pid = ledger.program_id
        snaps = app.snapshots.recorder.select_events(pid, desc=True, limit=1)
        out[name] = {
            "events": h["events"], "decisions": h["decisions"], "build_s": h["build_s"],
            "db_mb": round(h["db_bytes"] / 1e6, 1),
            "cold_ms": round(statistics.median(h["cold"]) * 1000, 3),
            "open_ms": round(statistics.median(h["open"]) * 1000, 3),
            "query_ms": round(statistics.median(h["query"]) * 1000, 3),
            "warm_ms": round(statistics.median(h["warm"]) * 1000, 3),
            "cold_p90_ms": round(sync.percentile(h["cold"], 90) * 1000, 3),
            "program_version": program.version,
            "snapshot_version": snaps[0].originator_version if snaps else 0,
            "snapshot_kb": round(len(snaps[0].state) / 1e3, 1) if snaps else 0,
            "dates": len(h["dates"]),
        }
        app.close()
    return out


# ----- the run ------------------------------------------------------------------------------------


def pg_reachable(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``, else the reason."""
    try:
        import psycopg

        env = parse_store(sync._with_schema(url, "public")).env
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                             port=int(env["POSTGRES_PORT"]), user=env["POSTGRES_USER"],
                             password=env.get("POSTGRES_PASSWORD") or None, connect_timeout=5) as conn:
            conn.execute("select 1")
        return None
    except Exception as e:  # noqa: BLE001 - reported to the user
        return f"{type(e).__name__}: {e}"


def run(a: argparse.Namespace, size: dict, tmp: str, phases: Phases) -> dict[str, Any]:
    f: dict[str, Any] = {}
    context: dict[str, Any] = {}

    year = phases.run(f"building a year of history ({size['year_events']:,} events, SQLite)",
                      lambda: build_history(tmp, size["year_events"], a.seed, "year", years=1))
    cli_figures = phases.run("cli --help and show against import click",
                             lambda: cli_processes(size["help_runs"], tmp, year))
    f["cli_help_ratio"] = cli_figures.pop("cli_help_ratio")
    f["cli_show_ratio"] = cli_figures.pop("cli_show_ratio")
    context["cli"] = cli_figures

    # SQLite: push (with its raw baseline) and pull (with its select), then the projections from zero.
    stores = sync.Stores(None)
    try:
        s = phases.run("SQLite push and pull over HTTP", lambda: sync_bench(stores, size, a.seed, pull=True))
        proj = phases.run("projections catching up from zero (SQLite)", lambda: projections_from_zero(stores.url))
    finally:
        stores.close()
    f.update({k: s[k] for k in ("push_per_s", "push_ratio", "raw_append_per_s", "pull_per_s", "pull_ratio",
                                "server_peak_rss_mb")})
    f["sql_select_per_s"] = s["sql_select_per_s"]
    f["sqlite_projection_per_s"] = proj["per_s"]
    context["sqlite_sync"] = s
    context["projections"] = proj

    if a.pg:
        base = a.pg
        tag = f"bench_run_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        pg_stores = sync.Stores(sync._with_schema(base, tag))
        try:
            p = phases.run("PostgreSQL push over HTTP (1 process, 1 device)",
                           lambda: sync_bench(pg_stores, size, a.seed, pull=False))
            pg_proj = phases.run("projections catching up from zero (PostgreSQL)",
                                 lambda: projections_from_zero(pg_stores.url))
        finally:
            pg_stores.close()
        f.update({"pg_push_per_s": p["push_per_s"], "pg_raw_append_per_s": p["raw_append_per_s"],
                  "pg_push_ratio": p["push_ratio"], "pg_projection_per_s": pg_proj["per_s"]})
        context["pg_sync"] = p
        context["pg_projections"] = pg_proj

        n = a.workers
        runs: dict[int, list[dict]] = {1: [], n: []}
        for r in range(size["pg_rounds"]):  # alternated; the best run of each is kept (noise only slows)
            for w in (1, n):
                runs[w].append(phases.run(
                    f"PostgreSQL, {size['devices']} devices of different accounts, {w} server process"
                    f"{'es' if w > 1 else ''} (round {r + 1})",
                    lambda w=w, r=r: concurrent_push(base, f"{tag}_w{w}_{r + 1}", w, size["devices"],
                                                     size["device_facts"], a.seed)))
        one, many = (max(runs[w], key=lambda x: x["per_s"]) for w in (1, n))
        one["runs_per_s"] = [x["per_s"] for x in runs[1]]
        many["runs_per_s"] = [x["per_s"] for x in runs[n]]
        f.update({"pg_push_per_s_1": one["per_s"], "pg_push_per_s_n": many["per_s"], "pg_workers_n": n,
                  "pg_scaling_n": round(many["per_s"] / one["per_s"], 3)})
        context["pg_concurrent_1"] = one
        context["pg_concurrent_n"] = many

        # The read models against several writers: N processes push while the follower starts behind.
        # Steps of up to 2,000 events move the positions: the pushes must last several steps.
        keep = phases.run(
            f"PostgreSQL projections against {size['devices']} devices and {n} server processes "
            f"(follower {size['devices'] * size['keep_facts']:,} facts behind)",
            lambda: concurrent_push(base, f"{tag}_keep", n, size["devices"], size["keep_facts"], a.seed,
                                    backlog=size["keep_facts"]))
        f.update({"projection_per_s": keep["projection_per_s"], "pg_push_events_per_s": keep["push_events_per_s"],
                  "projection_ratio": round(keep["projection_per_s"] / keep["push_events_per_s"], 3)})
        context["pg_projections_keeping_pace"] = keep

    # The program as of random dates, on a small and a large history.
    # Nothing is timed while they are built, so the small one is built in a second process next to the
    # large one (2 cores); each build's own time is context only.
    small, large, five = size["asof_small"], size["asof_large"], insights.HISTORY_EVENTS

    def build_all() -> dict[str, dict]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pending = [pool.submit(build_history, tmp, n, a.seed, name) for n, name in ((small, "small"), (five, "five"))]
            built_large = build_history(tmp, large, a.seed, "large")
            built_small, built_five = (p.result(timeout=900) for p in pending)
            return {"small": built_small, "large": built_large, "five": built_five}

    histories = phases.run(f"building histories of {small:,}, {five:,} and {large:,} events (SQLite, two at a time)",
                           build_all)
    q = phases.run("as-of queries at random dates",
                   lambda: asof_queries(histories, size["asof_dates"], size["warm_repeats"], a.seed))
    f.update({"as_of_ms_small": q["small"]["cold_ms"], "as_of_ms_large": q["large"]["cold_ms"],
              "as_of_ratio": round(q["large"]["cold_ms"] / q["small"]["cold_ms"], 3),
              "as_of_warm_ms_small": q["small"]["warm_ms"], "as_of_warm_ms_large": q["large"]["warm_ms"],
              "as_of_events_small": q["small"]["events"], "as_of_events_large": q["large"]["events"]})
    context["as_of"] = q
    r = phases.run("the report of the 5-year history as a whole process",
                   lambda: report_processes(size["report_runs"], tmp, histories["five"]))
    f["report_s"] = r.pop("report_s")
    context["report"] = r
    i = phases.run("the insight commands on the 5-year, 50,000-event history, as whole processes",
                   lambda: insights.figures(tmp, five, a.seed, size["insight_runs"], built=histories["five"]))
    f.update({k: i.pop(k) for k in ("insight_month_ms", "insight_all_ms", "day_ms")})
    context["insights"] = i

    d = phases.run(f"dashboard program page on a 5-year history of {size['dashboard_events']:,} events",
                   lambda: dashboard.dashboard_bench(tmp, size["dashboard_events"], size["dashboard_dates"], a.seed,
                                                     progress=lambda text: log(f"  dashboard:{text}")))
    f.update({k: d[k] for k in ("dashboard_ms", "dashboard_api_ms", "dashboard_ratio")})
    context["dashboard"] = d
    f["context"] = context
    return f


def evaluate(f: dict[str, Any]) -> dict[str, Any]:
    targets = {}
    for name, op, limit in TARGETS:
        if name not in f:
            continue
        bound = f[limit] if isinstance(limit, str) else limit
        value = f[name]
        ok = {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]
        targets[name] = {"value": value, "target": f"{op} {limit}", "limit": bound, "pass": ok}
    return targets


# ----- the report ---------------------------------------------------------------------------------


def _n(x: float, unit: str = "") -> str:
    if abs(x) >= 100:
        text = f"{x:,.0f}"
    elif abs(x) >= 10:
        text = f"{x:.1f}"
    else:
        text = f"{x:.2f}"
    return f"{text} {unit}".rstrip()


def table(f: dict[str, Any]) -> str:
    """figure | value | what it is measured against | target | notes."""
    c = f["context"]
    t = f["targets"]
    rows: list[tuple[str, ...]] = [("figure", "value", "against", "target", "notes")]

    def row(name: str, value: str, against: str = "", note: str = "") -> None:
        verdict = f"{t[name]['target']}  {'pass' if t[name]['pass'] else 'FAIL'}" if name in t else ""
        rows.append((name, value, against, verdict, note))

    s = c["sqlite_sync"]
    row("push_per_s", _n(f["push_per_s"], "facts/s"), f"raw_append_per_s {_n(f['raw_append_per_s'])}",
        f"SQLite, {s['facts']:,} facts in batches of 500 to 1 server process; "
        f"batch p50 {s['push_batch_p50_ms']:,.0f} ms")
    row("push_ratio", _n(f["push_ratio"]))
    row("server_peak_rss_mb", _n(f["server_peak_rss_mb"], "MB"), "",
        f"largest server process after the push (all {s['server_peak_rss_total_mb']:.0f} MB)")
    row("pull_per_s", _n(f["pull_per_s"], "entries/s"), f"sql_select_per_s {_n(f['sql_select_per_s'])}",
        f"SQLite, {s['pulled']:,} entries by a fresh device, pages of 1,000")
    row("pull_ratio", _n(f["pull_ratio"]))
    p = c["projections"]
    row("sqlite_projection_per_s", _n(f["sqlite_projection_per_s"], "events/s"), "",
        f"SQLite, {p['events']:,} events from zero in {p['s']:.1f} s (context)")
    if "pg_push_per_s" in f:
        ps = c["pg_sync"]
        row("pg_push_per_s", _n(f["pg_push_per_s"], "facts/s"),
            f"pg_raw_append_per_s {_n(f['pg_raw_append_per_s'])}",
            f"PostgreSQL, {ps['facts']:,} facts, 1 device, 1 server process")
        row("pg_push_ratio", _n(f["pg_push_ratio"]))
        pp = c["pg_projections"]
        row("pg_projection_per_s", _n(f["pg_projection_per_s"], "events/s"), f"pg_push_per_s {_n(f['pg_push_per_s'])}",
            f"PostgreSQL, {pp['events']:,} events from zero")
        k = c["pg_projections_keeping_pace"]
        row("projection_per_s", _n(f["projection_per_s"], "events/s"),
            f"pg_push_events_per_s {_n(f['pg_push_events_per_s'])}",
            f"PostgreSQL, {k['devices']} accounts x {k['facts'] // k['devices']:,} facts at once, {k['workers']} "
            f"processes, the follower {k['lag_start']:,} events behind at the start, {k['lag_end']:,} at the end"
            + (" (caught up: the ratio is a lower bound)" if k["lag_end"] == 0 else ""))
        row("projection_ratio", _n(f["projection_ratio"]), "", "projection_per_s / pg_push_events_per_s")
        for key, name in (("pg_concurrent_1", "pg_push_per_s_1"), ("pg_concurrent_n", "pg_push_per_s_n")):
            r = c[key]
            against = "" if key.endswith("_1") else f"x{f['pg_scaling_n']:.2f} of 1 process"
            if len(r.get("runs_per_s", [])) > 1:
                against = ", ".join(x for x in (against, "best of " + ", ".join(_n(v) for v in r["runs_per_s"])) if x)
            row(name, _n(f[name], "facts/s"), against,
                f"{r['devices']} accounts x {r['facts'] // r['devices']:,} facts at once, {r['workers']} process"
                f"{'es' if r['workers'] > 1 else ''}; table lock held {r['lock_held_share']:.0%} / waited for "
                f"{r['lock_waiting_share']:.0%} of the time; server CPU {r['server_cpu_ms_per_fact']:.2f} ms/fact; "
                f"machine busy {r['machine_busy_share']:.0%}")
    q = c["as_of"]
    for name in ("small", "large"):
        h = q[name]
        row(f"as_of_ms_{name}", _n(f[f"as_of_ms_{name}"], "ms"), f"warm {_n(h['warm_ms'], 'ms')}",
            f"{h['events']:,} events, {h['decisions']:,} decisions; cold = open {h['open_ms']:.1f} + query "
            f"{h['query_ms']:.1f} ms; snapshot {h['snapshot_kb']:.0f} kB + "
            f"{h['program_version'] - h['snapshot_version']} events")
    row("as_of_ratio", _n(f["as_of_ratio"]), "", "large / small, cold")
    cli = c["cli"]
    row("cli_help_ratio", _n(f["cli_help_ratio"]), f"import click {cli['import_click_ms']:.0f} ms",
        f"{cli['cli_help_command']} {cli['cli_help_ms']:.0f} ms (medians of {cli['cli_help_runs']}, interleaved)")
    row("cli_show_ratio", _n(f["cli_show_ratio"]), f"import click {cli['import_click_ms']:.0f} ms",
        f"{cli['cli_show_command']} {cli['cli_show_ms']:.0f} ms on a year of history "
        f"({cli['show_store_events']:,} events, {cli['show_exercises']} exercises shown); "
        f"fastest runs {cli['cli_show_ratio_best']:.2f}")
    rep = c["report"]
    row("report_s", _n(f["report_s"], "s"), f"import matplotlib+jinja2 {rep['report_floor_s']:.2f} s",
        f"{rep['report_command']} over {rep['report_days']:,} days ({rep['report_events']:,} events), "
        f"{rep['report_kb']:,} kB; CPU {rep['report_cpu_s']:.2f} s; fastest {rep['report_best_s']:.2f} s; "
        f"default month {rep['report_month_s']:.2f} s (CPU {rep['report_month_cpu_s']:.2f} s)")
    ins = c["insights"]["by_command"]
    for key, period in (("insight_month_ms", "month"), ("insight_all_ms", "all")):
        row(key, _n(f[key], "ms"), "slowest command", ", ".join(f"{k} {v:.0f}" for k, v in ins[period].items()))
    row("day_ms", _n(f["day_ms"], "ms"), "", "backstory day DATE --json, a day of the last month")
    d = c["dashboard"]
    row("dashboard_ms", _n(f["dashboard_ms"], "ms"), f"/v1/program {_n(f['dashboard_api_ms'], 'ms')}",
        f"server time, median of {d['dates']} random days; {d['events']:,} events over {d['years']} years, "
        f"{d['exercises_median']:.0f} exercises shown; page / endpoint {f['dashboard_ratio']:.2f}, "
        f"p90 {d['dashboard_p90_ms']:.0f} ms")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, r in enumerate(rows):
        lines.append(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}"
                     .rstrip())
        if i == 0:
            lines.append("-" * min(sum(widths) + 8 + max(len(r[4]) for r in rows), 120))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes: under 2 minutes on 2 cores")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress on stderr)")
    ap.add_argument("--pg", metavar="URL", default=DEFAULT_PG,
                    help=f"PostgreSQL database for the PostgreSQL figures (default {DEFAULT_PG}); "
                         "each measurement makes a fresh schema there and drops it")
    ap.add_argument("--no-pg", dest="pg", action="store_const", const=None, help="skip the PostgreSQL figures")
    ap.add_argument("--workers", type=int, default=max(2, min(4, os.cpu_count() or 2)),
                    help="N for pg_push_per_s_n (2..4; default: the CPU count within that range)")
    ap.add_argument("--asof-small", type=int, help="events of the small as-of history (default 10000)")
    ap.add_argument("--asof-large", type=int, help="events of the large as-of history (default 100000)")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    if not 2 <= a.workers <= 4:
        ap.error("--workers must be 2, 3 or 4")
    size = dict(SIZES["quick" if a.quick else "full"])
    if a.asof_small:
        size["asof_small"] = a.asof_small
    if a.asof_large:
        size["asof_large"] = a.asof_large
    if a.pg:
        reason = pg_reachable(a.pg)
        if reason:
            ap.error(f"PostgreSQL at {a.pg} does not answer ({reason}); give --pg URL or --no-pg")

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    started = time.perf_counter()
    phases = Phases()
    tmp = tempfile.mkdtemp(prefix="backstory-bench-run-")
    try:
        f = run(a, size, tmp, phases)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    f["targets"] = evaluate(f)
    f["all_targets_pass"] = all(t["pass"] for t in f["targets"].values())
    f["mode"] = "quick" if a.quick else "full"
    f["sizes"] = {**size, "pg_workers_n": a.workers if a.pg else None}
    f["backends"] = ["sqlite"] + (["postgresql"] if a.pg else [])
    f["revision"] = sync.revision()
    f["python"] = sys.version.split()[0]
    f["cpus"] = os.cpu_count()
    f["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    f["phases_s"] = phases.took
    f["total_s"] = round(time.perf_counter() - started, 1)
    if a.json:
        print(json.dumps(f))
    else:
        print()
        print(table(f))
        failed = [k for k, v in f["targets"].items() if not v["pass"]]
        print(f"\nsizes: {size['facts']:,} facts pushed, {f['context']['sqlite_sync']['pulled']:,} entries pulled, "
              f"as-of histories of {f['as_of_events_small']:,} and {f['as_of_events_large']:,} events"
              + (f", {size['devices']} devices x {size['device_facts']:,} facts with 1 and {a.workers} processes"
                 if a.pg else ", no PostgreSQL"))
        print(f"{f['mode']} run, revision {f['revision']}, {f['total_s']:.0f} s "
              f"(load {', '.join(str(x) for x in f['load_avg'])}); "
              + (f"targets missed: {', '.join(failed)}" if failed else "all targets met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
