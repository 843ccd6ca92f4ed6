"""Whole ``backstory`` processes timed against their floors: ``--help`` and ``show`` against ``import click``,
``report`` of the 5-year history against importing matplotlib and Jinja2 (``bench/run.py``'s
``cli_*`` and ``report_*`` figures).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import asof

ROOT = Path(__file__).resolve().parent.parent


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


