"""Benchmark: the program as of a date, indexed (snapshot + tail + index) against a plain full replay.

    python bench/asof.py [--events N] [--db URL] [--json] [--seed S] [--repeats R] [--keep]

1. Builds (``bench/history.py``) a synthetic 5-year history of at least N domain events (default 50,000)
   for one program: ~40 exercises added over the years (plus the components of
   deconstructions), a few thousand decisions (progress, regress, adapt, pause,
   resume, retire, deconstruct, rebuild, promote with and without --force, demote,
   fittings), some of them backdated and so recorded out of valid-time order, and
   the rest facts (sessions with pain and tension, next-day responses,
   micro-breaks, check-ins, flares, a few corrections and voids). Each change
   also gets its MutationRecord, as the one command path stores it. The history
   is built with the domain aggregates directly (``Program`` methods,
   ``FactLog.open/record``) and saved through the ledger of the CLI's program
   (``BackstoryApp(env).ledger(program_id_for("local"))``) in batches, so the
   Program snapshots (every 100 versions) are taken exactly as in normal use.
2. At 5 dates spread over the 5 years it times ``show``'s query:
   - indexed cold: a fresh ``BackstoryApp`` and its ledger (as a CLI process opens
     them), then ``ledger.program().view(as_of)``: latest snapshot + tail + a binary
     search per field;
   - indexed warm: ``view(as_of)`` on an already loaded Program;
   - replay cold: a fresh app, ``ledger.decisions()`` (every program event) then
     ``domain.timeline.fold`` and ``domain.view.materialize``;
   - replay warm: ``fold`` + ``materialize`` over events already in memory;
   and checks that both give the same view (also as known at a recorded time).
3. Times whole processes: ``python -m cli --db URL show --as-of DATE``,
   ``python -m cli --help`` and ``python -c "import click"`` (the floor).

The default store is a SQLite file in a temporary directory. With
``--db postgresql://USER@HOST:PORT/DB?schema=NAME`` the schema is created first
and dropped at the end (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from domain.facts import month_of  # noqa: E402
from domain.timeline import fold  # noqa: E402
from domain.view import materialize  # noqa: E402
from service.application import BackstoryApp, Ledger, program_id_for  # noqa: E402
from service.config import parse_store  # noqa: E402

from history import ACCOUNT, TZ, YEARS, Builder  # noqa: E402,F401


# ----- measuring -----------------------------------------------------------------------------------


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def view_dict(view) -> dict:
    return dataclasses.asdict(view)


def end_of_day(d: date) -> datetime:
    return datetime.combine(d, dtime.max, TZ)


def open_ledger(env: dict[str, str]) -> Ledger:
    """A fresh application and the CLI's program in it, as a ``backstory`` process opens them."""
    return BackstoryApp(env).ledger(program_id_for(ACCOUNT))


def measure_queries(env: dict[str, str], dates: list[date], repeats: int, warm_repeats: int,
                    known_at: datetime) -> dict[str, Any]:
    rows = []
    opens = []
    ledger = open_ledger(env)
    app = ledger.app
    program = ledger.program()
    events = ledger.decisions()
    for d in dates:
        as_of = end_of_day(d)
        cold_idx, cold_rep, warm_idx, warm_rep = [], [], [], []
        for _ in range(repeats):
            t_open, fresh = timed(open_ledger, env)
            opens.append(t_open)
            t, indexed = timed(lambda led, at: led.program().view(at), fresh, as_of)
            cold_idx.append(t)
            fresh.app.close()
            fresh = open_ledger(env)
            t, replayed = timed(lambda led, at: materialize(fold(led.decisions(), at)), fresh, as_of)
            cold_rep.append(t)
            fresh.app.close()
            assert view_dict(indexed) == view_dict(replayed), f"indexed and replayed views differ at {d}"
        for _ in range(warm_repeats):
            t, indexed = timed(program.view, as_of)
            warm_idx.append(t)
        for _ in range(max(3, warm_repeats // 4)):
            t, replayed = timed(lambda at: materialize(fold(events, at)), as_of)
            warm_rep.append(t)
        assert view_dict(indexed) == view_dict(replayed), f"indexed and replayed views differ at {d}"
        # The bitemporal side too: as of this date, as known at a recorded time before the end.
        assert view_dict(program.view(as_of, known_at)) == view_dict(materialize(fold(events, as_of, known_at)))
        rows.append({
            "date": d.isoformat(), "exercises": len(indexed.exercises),
            "in_program": len(indexed.in_program()),
            "indexed_cold_ms": median_ms(cold_idx), "indexed_warm_ms": median_ms(warm_idx),
            "replay_cold_ms": median_ms(cold_rep), "replay_warm_ms": median_ms(warm_rep),
        })
    # Not the as-of query, for context: a fact mutation or a recap loads whole month logs
    # (a snapshot and its tail once a month has 100 events).
    month = month_of(end_of_day(dates[-1]))
    loads = []
    for _ in range(repeats):
        fresh = open_ledger(env)
        t, log = timed(fresh.fact_log, month)
        loads.append(t)
        fresh.app.close()
    pid = ledger.program_id
    snap = list(app.snapshots.get(pid, desc=True, limit=1)) if app.snapshots else []
    snap_records = app.snapshots.recorder.select_events(pid, desc=True, limit=1) if app.snapshots else []
    snapshots = len(app.snapshots.recorder.select_events(pid)) if app.snapshots else 0
    assert program.version < 100 or snapshots, "the Program was never snapshotted"
    info = {
        "program_version": program.version, "snapshots": snapshots,
        "snapshot_version": snap[0].originator_version if snap else None,
        "snapshot_bytes": len(snap_records[0].state) if snap_records else None,
        "tail_events": program.version - (snap[0].originator_version if snap else 0),
        "app_open_ms": median_ms(opens),
        "fact_month": month, "fact_month_events": log.version, "fact_month_load_ms": median_ms(loads),
    }
    app.close()
    return {"rows": rows, **info}


def process_envs(home: str) -> tuple[dict[str, str], dict[str, str]]:
    """Environments for whole ``python`` processes: (bytecode cached under ``home``, bytecode writing off).

    The cache goes to a temporary PYTHONPYCACHEPREFIX (nothing is written into the project), as an
    installed program has its bytecode. ``BACKSTORY_HOME`` is ``home``, so nothing of the user's is read.
    """
    base = {**os.environ, "BACKSTORY_HOME": home,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    base.pop("BACKSTORY_DB", None)
    cached = {**base, "PYTHONPYCACHEPREFIX": str(Path(home) / "pycache")}
    cached.pop("PYTHONDONTWRITEBYTECODE", None)
    nocache = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    nocache.pop("PYTHONPYCACHEPREFIX", None)
    return cached, nocache


def run_process(args: list[str], env: dict[str, str]) -> float:
    """Wall time of one whole process, which must succeed."""
    t = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def measure_processes(url: str, dates: list[date], runs: int, home: str) -> dict[str, Any]:
    """Median wall time of whole processes, with bytecode cached as an installed program has it.

    The bytecode goes to a temporary PYTHONPYCACHEPREFIX (nothing is written into the project),
    after one warm-up run. ``show_process_nocache_ms`` is the same run with bytecode writing off
    (as PYTHONDONTWRITEBYTECODE=1 leaves the project's own modules: compiled on every run).
    """
    cached, nocache = process_envs(home)

    def run(args: list[str], env: dict[str, str] = cached) -> float:
        return run_process(args, env)

    py = sys.executable
    show = [py, "-m", "cli", "--db", url, "show", "--as-of"]
    run(show + [dates[0].isoformat()])  # warm-up: fills the bytecode cache and the OS file cache
    click = [run([py, "-c", "import click"]) for _ in range(runs)]
    helps = [run([py, "-m", "cli", "--help"]) for _ in range(runs)]
    shows = [run(show + [dates[i % len(dates)].isoformat()]) for i in range(runs)]
    shows_nocache = [run(show + [dates[i % len(dates)].isoformat()], nocache) for i in range(runs)]
    # `backstory day`: one day's facts (a month log or two, and back to the last flare), against show
    day = [py, "-m", "cli", "--db", url, "day"]
    run(day + [dates[0].isoformat()])
    days = [run(day + [dates[i % len(dates)].isoformat()]) for i in range(runs)]
    one_day = json.loads(subprocess.run(day + [dates[-1].isoformat(), "--json"], cwd=ROOT, env=cached,
                                        capture_output=True, text=True, check=True).stdout)
    if one_day["date"] != dates[-1].isoformat() or not one_day["breaks"]:
        raise RuntimeError(f"backstory day {dates[-1]} listed no breaks")
    # the same query as JSON must list the program as of that day
    out = subprocess.run(show + [dates[-1].isoformat(), "--json"], cwd=ROOT, env=cached,
                         capture_output=True, text=True, check=True).stdout
    shown = json.loads(out)
    return {"import_click_ms": median_ms(click), "help_process_ms": median_ms(helps),
            "show_process_ms": median_ms(shows), "show_process_nocache_ms": median_ms(shows_nocache),
            "show_exercises": len(shown["exercises"]), "day_process_ms": median_ms(days),
            "day_show_ratio": round(median_ms(days) / median_ms(shows), 3)}


# ----- stores --------------------------------------------------------------------------------------


class Store:
    """The store the benchmark writes to: a temporary SQLite file, or a PostgreSQL schema made for it."""

    def __init__(self, url: str | None, keep: bool):
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="backstory-bench-")
        self.schema = None
        if url is None:
            url = f"sqlite:///{self.tmp}/bench.sqlite"
        self.url = url
        parsed = parse_store(url)
        self.env = parsed.env
        self.kind = "sqlite" if parsed.is_sqlite else "postgresql"
        if not parsed.is_sqlite:
            self.schema = self.env.get("POSTGRES_SCHEMA")
            if not self.schema:
                raise SystemExit("bench: give the PostgreSQL URL a ?schema=NAME of its own; it is dropped at the end")
            with self._pg() as conn:
                conn.execute(f'CREATE SCHEMA "{self.schema}"')

    def _pg(self):
        import psycopg

        e = self.env
        return psycopg.connect(dbname=e["POSTGRES_DBNAME"], host=e["POSTGRES_HOST"], port=int(e["POSTGRES_PORT"]),
                               user=e["POSTGRES_USER"], password=e["POSTGRES_PASSWORD"] or None, autocommit=True)

    def size(self) -> int | None:
        if self.kind == "sqlite":
            path = Path(self.env["SQLITE_DBNAME"])
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        with self._pg() as conn:
            row = conn.execute(
                "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relkind = 'r'",
                (self.schema,)).fetchone()
            return int(row[0])

    def close(self) -> None:
        if self.keep:
            return
        if self.schema:
            with self._pg() as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        shutil.rmtree(self.tmp, ignore_errors=True)


# ----- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=50_000, help="at least this many domain events (default 50000)")
    ap.add_argument("--db", metavar="URL", help="store URL (default: SQLite in a temporary directory); "
                                                "postgresql://...?schema=NAME creates and drops that schema")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=5, help="cold runs per date, and process runs (default 5)")
    ap.add_argument("--warm-repeats", type=int, default=40, help="warm runs per date (default 40)")
    ap.add_argument("--keep", action="store_true", help="keep the store (print its URL) instead of removing it")
    a = ap.parse_args(argv)

    def say(text: str) -> None:
        if not a.json:
            print(text, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    store = Store(a.db, a.keep)
    try:
        ledger = open_ledger(store.env)
        if ledger.program() is not None:
            raise SystemExit(f"bench: {store.url} already holds a program; give an empty store")
        end = datetime.now(TZ).date() - timedelta(days=1)
        say(f"building {a.events:,}+ events over {YEARS} years into {store.kind} ({store.url}) ...")
        builder = Builder(ledger, a.events, a.seed, end, progress=say)
        t_build, _ = timed(builder.run)
        ledger.app.close()
        say(f"built in {t_build:.1f} s")

        span = (builder.end - builder.start).days
        dates = [builder.start + timedelta(days=round(span * f)) for f in (0.1, 0.3, 0.5, 0.7, 0.97)]
        known_at = datetime.combine(builder.start + timedelta(days=round(span * 0.6)), dtime(12), TZ)
        t_q, q = timed(lambda: measure_queries(store.env, dates, a.repeats, a.warm_repeats, known_at))
        t_p, proc = timed(lambda: measure_processes(store.url, dates, a.repeats, store.tmp))

        rows = q["rows"]
        assert proc["show_exercises"] == rows[-1]["exercises"], "backstory show listed another program"
        med = {k: round(statistics.median(r[k] for r in rows), 3)
               for k in ("indexed_cold_ms", "indexed_warm_ms", "replay_cold_ms", "replay_warm_ms")}
        result = {
            "backend": store.kind,
            "events": builder.decisions + builder.facts,
            "decisions": builder.decisions,
            "facts": builder.facts,
            "backdated_decisions": builder.backdated,
            "decisions_out_of_valid_order": builder.out_of_order,
            "refused_attempts": sum(builder.refused.values()),
            "exercises": len(builder.program.view().exercises),
            "mutation_records": sum(builder.counts.values()),
            "fact_logs": len(builder.logs),
            "by_type": dict(sorted(builder.counts.items())),
            "from": builder.start.isoformat(), "to": builder.end.isoformat(),
            "build_s": round(t_build, 1),
            "store_bytes": store.size(),
            "program_version": q["program_version"], "snapshots": q["snapshots"],
            "snapshot_version": q["snapshot_version"],
            "snapshot_bytes": q["snapshot_bytes"], "tail_events": q["tail_events"],
            "app_open_ms": q["app_open_ms"],
            "fact_month": q["fact_month"], "fact_month_events": q["fact_month_events"],
            "fact_month_load_ms": q["fact_month_load_ms"],
            "asof_indexed_cold_ms": med["indexed_cold_ms"], "asof_indexed_warm_ms": med["indexed_warm_ms"],
            "asof_replay_ms": med["replay_cold_ms"], "asof_replay_warm_ms": med["replay_warm_ms"],
            "ratio_cold": round(med["replay_cold_ms"] / med["indexed_cold_ms"], 1),
            "ratio_warm": round(med["replay_warm_ms"] / med["indexed_warm_ms"], 1),
            "dates": rows,
            **proc,
            "measure_s": round(t_q + t_p, 1),
            "python": sys.version.split()[0],
        }
        if a.keep:
            result["db"] = store.url
        if a.json:
            print(json.dumps(result, indent=2))
        else:
            print_report(result)
        return 0
    finally:
        store.close()


def print_report(r: dict) -> None:
    print()
    print(f"History ({r['backend']}): {r['events']:,} events from {r['from']} to {r['to']}: "
          f"{r['decisions']:,} decisions ({r['backdated_decisions']} backdated, "
          f"{r['decisions_out_of_valid_order']} recorded out of valid-time order), {r['facts']:,} facts, "
          f"{r['exercises']} exercises; + {r['mutation_records']:,} mutation records, "
          f"{r['fact_logs']} month logs; built in {r['build_s']} s; store {r['store_bytes'] / 1e6:.1f} MB")
    print(f"Program: version {r['program_version']}, {r['snapshots']} snapshots, latest at {r['snapshot_version']} "
          f"({r['snapshot_bytes'] / 1e3:.0f} kB), tail {r['tail_events']} events; "
          f"opening the app {r['app_open_ms']:.1f} ms (not in the figures below)")
    print()
    head = f"{'as of':<12}{'exercises':>10}{'indexed cold':>14}{'replay cold':>13}{'ratio':>7}" \
           f"{'indexed warm':>14}{'replay warm':>13}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    for row in r["dates"]:
        print(f"{row['date']:<12}{row['exercises']:>10}{row['indexed_cold_ms']:>11.2f} ms"
              f"{row['replay_cold_ms']:>10.2f} ms{row['replay_cold_ms'] / row['indexed_cold_ms']:>6.1f}x"
              f"{row['indexed_warm_ms']:>11.3f} ms{row['replay_warm_ms']:>10.2f} ms"
              f"{row['replay_warm_ms'] / row['indexed_warm_ms']:>7.0f}x")
    print("-" * len(head))
    print(f"{'median':<12}{'':>10}{r['asof_indexed_cold_ms']:>11.2f} ms{r['asof_replay_ms']:>10.2f} ms"
          f"{r['ratio_cold']:>6.1f}x{r['asof_indexed_warm_ms']:>11.3f} ms{r['asof_replay_warm_ms']:>10.2f} ms"
          f"{r['ratio_warm']:>7.0f}x")
    print("(indexed and replayed views compared equal at every date, also as known at a past recorded time)")
    print(f"For context: loading one month of facts ({r['fact_month']}, {r['fact_month_events']} events, "
          f"snapshotted every 100) takes {r['fact_month_load_ms']:.1f} ms cold")
    print()
    print("Whole processes (median):")
    print(f"  python -c 'import click'             {r['import_click_ms']:>8.1f} ms")
    print(f"  python -m cli --help                 {r['help_process_ms']:>8.1f} ms")
    print(f"  python -m cli --db URL show --as-of  {r['show_process_ms']:>8.1f} ms   "
          f"({r['show_process_nocache_ms']:.1f} ms without cached bytecode)")
    print(f"  python -m cli --db URL day DATE      {r['day_process_ms']:>8.1f} ms   "
          f"({r['day_show_ratio']:.2f}x show)")


if __name__ == "__main__":
    sys.exit(main())
