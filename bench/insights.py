"""Benchmark: the insight commands (issue 12 item 9) as whole processes on a 5-year history.

    python bench/insights.py [--events N] [--runs R] [--json] [--seed S]

Builds (``bench/history.py``'s builder) a SQLite store holding a 5-year, 50,000-event history of one
program, then times ``backstory --db URL COMMAND --json`` as whole processes (bytecode cached, medians
of ``runs``) for each insight command asked about the last month and about the whole history:
``sessions``, ``tension`` and ``breaks`` for both; ``flares`` (which takes no period: always the whole
history) for the whole history; ``fitting report`` (one fitting, at most a few weeks) for the month;
and ``day`` on a day of the last month. ``insight_month_ms`` and
``insight_all_ms`` are the slowest command's median of each; ``day_ms`` is ``day``'s. Each output is
checked to hold what the question asks (not an empty answer), so a fast refusal cannot pass.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for path in (str(HERE), str(HERE.parent)):
    if path not in sys.path:
        sys.path.insert(0, path)

import asof  # noqa: E402

HISTORY_EVENTS = 50_000
TARGETS = {"insight_month_ms": 300.0, "insight_all_ms": 2000.0, "day_ms": 200.0}
# command -> the JSON key its answer must not leave empty
PERIODIC = {"sessions": "sessions", "tension": "muscles", "breaks": "days"}


def _backstory() -> list[str]:
    script = shutil.which("backstory", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "cli"]


def _checked(args: list[str], env: dict[str, str], key: str) -> None:
    import subprocess

    done = subprocess.run([*args, "--json"], cwd=asof.ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    if not json.loads(done.stdout).get(key):
        raise RuntimeError(f"{' '.join(args)} answered no {key!r}: the history should give one")


def _median_ms(args: list[str], env: dict[str, str], runs: int) -> float:
    asof.run_process(args, env)  # warm-up: bytecode and the OS file cache
    return round(statistics.median(asof.run_process(args, env) for _ in range(runs)) * 1000, 1)


def measure(url: str, end, runs: int, home: str) -> dict[str, Any]:
    """Medians per command and period on the store at ``url`` whose history ends on ``end``."""
    env, _ = asof.process_envs(home)
    base = [*_backstory(), "--db", url]
    month_start = (end - timedelta(days=30)).isoformat()
    periods = {"month": ["--since", month_start, "--until", end.isoformat()], "all": ["--since", "1900-01-01"]}
    rows: dict[str, dict[str, float]] = {"month": {}, "all": {}}
    for command, key in PERIODIC.items():
        for period, extra in periods.items():
            args = [*base, command, *extra]
            _checked(args, env, key)
            rows[period][command] = _median_ms([*args, "--json"], env, runs)
    report = [*base, "fitting", "report"]
    _checked(report, env, "fitting")
    rows["month"]["fitting report"] = _median_ms([*report, "--json"], env, runs)
    flares = [*base, "flares"]
    _checked(flares, env, "flares")
    rows["all"]["flares"] = _median_ms([*flares, "--json"], env, runs)
    day = [*base, "day", (end - timedelta(days=3)).isoformat()]
    _checked(day, env, "date")
    day_ms = _median_ms([*day, "--json"], env, runs)
    return {"insight_month_ms": max(rows["month"].values()), "insight_all_ms": max(rows["all"].values()),
            "day_ms": day_ms, "by_command": rows, "runs": runs}


def figures(tmp: str, events: int, seed: int, runs: int, built: dict | None = None) -> dict[str, Any]:
    """Build the history (unless ``built``, as ``bench/run.py``'s ``build_history`` returns it) and measure."""
    if built is None:
        from run import build_history

        built = build_history(tmp, events, seed, "insights", years=5)
    url = f"sqlite:///{built['env']['SQLITE_DBNAME']}"
    out = measure(url, built["end"], runs, str(Path(tmp) / "insights-home"))
    out.update({"events": built["events"], "years": round((built["end"] - built["start"]).days / 365.25, 1)})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=HISTORY_EVENTS)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-insights-") as tmp:
        f = figures(tmp, a.events, a.seed, a.runs)
    if a.json:
        print(json.dumps(f, indent=2))
        return 0
    for period in ("month", "all"):
        for command, ms in f["by_command"][period].items():
            print(f"{period:>5}  {command:<15} {ms:8.1f} ms")
    for key, limit in TARGETS.items():
        print(f"{key:<18} {f[key]:8.1f} ms  target <= {limit:.0f}  {'PASS' if f[key] <= limit else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
