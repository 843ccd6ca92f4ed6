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
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(HERE), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

# bench/history.py: the history builder; bench/asof.py: as-of queries, process timing; bench/sync.py: workload, server, client, stores;
# bench/insights.py: the insight commands as processes; bench/processes.py: whole CLI processes;
# bench/pg_push.py: several server processes on PostgreSQL; bench/figures_table.py: the printed table
import asof
import history
import dashboard
import insights
import sync
from figures_table import table
from sync import log
from pg_push import _drop_read_models, concurrent_push
from processes import cli_processes, report_processes

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
