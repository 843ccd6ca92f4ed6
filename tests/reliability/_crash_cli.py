"""Support for the CLI crash tests: large export files, and a ``backstory`` run killed with SIGKILL mid-way.

``write_history`` records a realistic history (a program, a few exercises,
progressions and regressions, many sessions, breaks and check-ins over five
months) through the one command path into a scratch store and exports it, as
``backstory export`` would. ``write_facts`` writes an export of facts only,
for more changes on a device between syncs. ``run_killed`` starts a CLI
command and SIGKILLs it at a kill point (a condition polled while it runs).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Callable

from tests.conftest import Cli
from tests.reliability._crash_support import ROOT

EXERCISES = ("Bridge", "Bird dog", "Dead bug", "Side plank")
BREAK_KINDS = ("stand", "walk", "extend", "rotate", "reset")
MUSCLES = ("paraspinals", "multifidus", "glutes", "hip_flexors")


def _fact(rng: random.Random, at: datetime) -> tuple[str, dict]:
    roll = rng.random()
    if roll < 0.55:
        args = {"exercise": rng.choice(EXERCISES), "pain_before": rng.randint(2, 7), "pain_after": rng.randint(0, 5),
                "sets": rng.randint(1, 4), "reps": rng.randint(4, 12)}
        if rng.random() < 0.3:
            args["tension"] = [f"{rng.choice(MUSCLES)}:{rng.choice(('left', 'right'))}:overactive:{rng.randint(1, 8)}"]
        if rng.random() < 0.2:
            args["note"] = f"note {rng.randint(0, 999)}: felt 'ok' <b>"
        return "log", args
    if roll < 0.8:
        return "break", {"kind": rng.choice(BREAK_KINDS), "seconds": rng.randint(30, 60)}
    return "checkin", {"pain": rng.randint(0, 8), "note": f"check-in {rng.randint(0, 99)}"}


def _decision(rng: random.Random, sets: dict[str, int]) -> tuple[str, dict]:
    name = rng.choice(EXERCISES)
    if sets[name] < 6 and rng.random() < 0.6:
        sets[name] += 1
        return "progress", {"exercise": name, "sets": sets[name], "reason": "felt easy", "force": True}
    if sets[name] > 1:
        sets[name] -= 1
        return "regress", {"exercise": name, "sets": sets[name], "reason": "sore", "reason_code": "flare"}
    sets[name] += 1
    return "progress", {"exercise": name, "sets": sets[name], "reason": "felt easy", "force": True}


def history_mutations(count: int, seed: int, device_id: str = "cli-history") -> list:
    """``count`` mutations: init, adds, then facts with a decision now and then, in valid-time order."""
    from service.mutation import Mutation

    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=150)
    out = [Mutation(str(uuid.uuid4()), "init", start, device_id, {"name": "Sam", "timezone": "Europe/Paris"})]
    for i, name in enumerate(EXERCISES):
        out.append(Mutation(str(uuid.uuid4()), "add", start + timedelta(hours=1 + i), device_id,
                            {"name": name, "position": "1:supine", "sets": 3, "reps": 10}))
    sets = {name: 3 for name in EXERCISES}
    step = timedelta(days=149) / max(count, 1)
    for i in range(count - len(out)):
        at = start + timedelta(days=1) + step * i
        mutation_type, args = _decision(rng, sets) if rng.random() < 0.04 else _fact(rng, at)
        out.append(Mutation(str(uuid.uuid4()), mutation_type, at, device_id, args))
    return out


def write_history(path: Path, count: int, seed: int) -> int:
    """An export file of ``count`` applied mutations; returns how many lines of mutations it has."""
    from service.application import BackstoryApp, program_id_for
    from service.config import parse_store
    from service.exchange import export_lines
    from service.handling import handle

    app = BackstoryApp(parse_store(f"sqlite:///{path.with_suffix('.scratch.sqlite')}").env)
    try:
        ledger = app.ledger(program_id_for("local"))
        for m in history_mutations(count, seed):
            handle(ledger, m)
        lines = list(export_lines(ledger, datetime.now(UTC)))
    finally:
        app.close()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def write_facts(path: Path, count: int, seed: int, device_id: str) -> list[str]:
    """An export of ``count`` facts of the last weeks (they apply on any program); returns their ids."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    lines = [json.dumps({"format": "backstory-mutations", "version": 1, "exported_at": now.isoformat()})]
    ids = []
    for i in range(count):
        at = now - timedelta(days=30) + timedelta(days=29) * i / count
        mutation_type, args = _fact(rng, at)
        ids.append(str(uuid.uuid4()))
        lines.append(json.dumps({"mutation_id": ids[-1], "type": mutation_type, "occurred_at": at.isoformat(),
                                 "device_id": device_id, "args": args, "recorded_at": at.isoformat()}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def run_killed(cli: Cli, args: list[str], when: Callable[[], bool], timeout: float = 300) -> bool:
    """Run ``backstory ARGS``, SIGKILL it as soon as ``when()`` holds; whether it was still running then."""
    proc = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, env=cli.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not when():
        assert time.monotonic() < deadline, f"backstory {' '.join(args)} never reached its kill point"
        time.sleep(0.02)
    running = proc.poll() is None
    if running:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    assert running or proc.returncode == 0, f"backstory {' '.join(args)} failed before the kill: {err}"
    return running
