"""Support for the API fuzz test: a seeded server process and the tokens the fuzzer sends.

``FuzzServer`` runs ``python -m cli --db URL serve`` (gunicorn) on a free
port, with the per-device rate limit turned off (``BACKSTORY_RATE_LIMIT=0``):
the fuzzer sends thousands of requests a minute from one device and one
address, and would otherwise mostly meet 429s (which every ``/v1`` operation
documents, and which ``test_fuzz`` checks separately on a limited server).
``seed`` gives the store two accounts, a few devices (one revoked) and some
history, so that reads return data. Run as a script, it prints a seeded
server's address and tokens for a manual ``schemathesis run``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.reliability._fuzz_hooks import SEMANTIC_400
from tests.server_process import ROOT, ServerProcess, free_port, http, serve_command, server_env


class FuzzServer(ServerProcess):
    """``backstory serve`` on a fresh store for the fuzzer; ``stop()`` returns its log."""

    def __init__(self, store_url: str, log: Path, rate_limit: str = "0"):
        port = free_port()
        super().__init__(serve_command(store_url, port), port,
                         server_env(log.parent, {"BACKSTORY_RATE_LIMIT": rate_limit}), log)


@dataclass
class Seeded:
    """What ``seed`` made: the fuzzing account's tokens and ids, and another account's token."""

    token: str
    device_id: str
    revoked_token: str
    revoked_device_id: str
    other_token: str
    other_device_id: str
    exercise: str


def create_account(store_url: str, name: str) -> dict:
    from service.accounts import create_account as create
    from service.application import open_app

    app = open_app(store_url)  # under the schema lock: DDL racing another process fails on PostgreSQL
    try:
        return create(app, name)
    finally:
        app.close()


def _mutations(days_ago: int) -> list[tuple[str, int, dict]]:
    """(type, days ago, args): a few weeks of history with decisions and facts of every kind."""
    return [
        ("init", days_ago, {"name": "Sam", "timezone": "Europe/Paris"}),
        ("add", days_ago - 1, {"name": "Dead bug", "position": "1:supine", "sets": 3, "reps": 8,
                               "target": ["deep_abdominals"], "protect": ["hip_flexors"]}),
        ("add", days_ago - 1, {"name": "Bird dog", "position": "kneeling:quadruped", "sets": 3, "reps": 6,
                               "per_side": True}),
        ("log", days_ago - 2, {"exercise": "Dead bug", "pain_before": 4, "pain_during": 2, "pain_after": 2,
                               "tension": ["hip_flexors:left:overactive:5"], "note": "fine"}),
        ("break", days_ago - 2, {"kind": "walk", "seconds": 45}),
        ("checkin", days_ago - 3, {"pain": 3, "note": "morning"}),
        ("progress", days_ago - 4, {"exercise": "Dead bug", "reps": 10, "reason": "easy", "force": True}),
        ("log", days_ago - 5, {"exercise": "Bird dog", "pain_before": 3, "pain_after": 4}),
        ("regress", days_ago - 6, {"exercise": "Bird dog", "sets": 2, "reason": "flare", "reason_code": "flare"}),
        ("flare-start", days_ago - 6, {"pain": 6}),
        ("flare-end", days_ago - 8, {"pain": 3}),
        ("next-day", days_ago - 9, {"exercise": "Dead bug", "verdict": "better", "pain": 2}),
        ("promote", days_ago - 10, {"exercise": "Dead bug", "force": True, "reason": "physio's call"}),
        # outcome measures, so /v1/outcomes (with PSFS activities) and /v1/export/fhir answer whole bodies
        ("assess", days_ago - 1, {"instrument": "odi", "answers": "3,2,1,-,0,2,1,1,2,-"}),
        ("assess", days_ago - 1, {"instrument": "psfs", "activity": ["lift-child=4", "sit-1h=6", "walk=3"],
                                  "activity_name": ["lift-child=Lift my child"]}),
        ("assess", days_ago - 11, {"instrument": "odi", "answers": "1,1,1,-,0,1,0,1,1,-"}),
        ("assess", days_ago - 11, {"instrument": "psfs", "activity": ["lift-child=7", "sit-1h=6", "walk=3", "stairs=5"]}),
        ("assess", days_ago - 11, {"instrument": "rmdq", "answers": "1,4,7,12"}),
    ]


def _push_history(url: str, token: str) -> None:
    now = datetime.now(UTC)
    batch = [{"mutation_id": str(uuid.uuid4()), "seq": i, "type": kind,
              "occurred_at": (now - timedelta(days=ago)).isoformat(), "base_version": None, "args": args}
             for i, (kind, ago, args) in enumerate(_mutations(20), start=1)]
    status, _, body = http("POST", url + "/v1/sync/push", {"mutations": batch}, token)
    assert status == 200, body
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["applied"] * len(batch), body


def seed(server: FuzzServer, store_url: str) -> Seeded:
    """Two accounts; the first with history, a second device and a revoked third."""
    first = create_account(store_url, "sam")
    other = create_account(store_url, "alex")
    _push_history(server.url, first["token"])
    status, _, paired = http("POST", server.url + "/v1/devices", {"name": "tablet"}, first["token"])
    assert status == 201, paired
    status, _, revoked = http("POST", server.url + "/v1/devices", {"name": "old phone"}, first["token"])
    assert status == 201, revoked
    status, _, body = http("DELETE", f"{server.url}/v1/devices/{revoked['device_id']}", token=first["token"])
    assert status == 200, body
    status, _, body = http("GET", server.url + "/v1/sessions", token=first["token"])
    assert status == 200 and body["sessions"], body
    return Seeded(first["token"], first["device_id"], revoked["token"], revoked["device_id"], other["token"],
                  other["device_id"], "Dead bug")


# ----- the schemathesis CLI ------------------------------------------------------------------------

#: Operations where a schema-valid request may still be 400 by a rule OpenAPI 3.0 cannot state; which
#: fields such a 400 may name is checked by ``_fuzz_hooks.positive_400_names_a_rule``.
POSITIVE_400 = tuple(SEMANTIC_400)
#: Besides schemathesis's defaults: a push over the documented maxItems is 413 (SPEC 5: too large), not
#: 400; a query string over 4 KiB is 414 whatever it holds (a 512-character cursor of 4-byte characters,
#: percent-encoded, is 6 KiB).
_CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "414", "429"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429"]
{operations}
"""
_OPERATION = """
[[operations]]
include-path = "{path}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "414", "429"]
"""


@dataclass
class FuzzRun:
    """One ``schemathesis run``: its exit code, its text output and its JSON report."""

    name: str
    returncode: int
    output: str
    report: dict

    @property
    def cases(self) -> int:
        return int((self.report.get("test_cases") or {}).get("generated") or 0)


def _config(out: Path) -> Path:
    path = out / "schemathesis.toml"
    path.write_text(_CONFIG.format(operations="".join(_OPERATION.format(path=p) for p in POSITIVE_400)))
    return path


def schemathesis_run(url: str, out: Path, name: str, authorization: str | None, *, max_examples: int,
                     phases: str, seed: int, extra: tuple[str, ...] = (), timeout: float = 900) -> FuzzRun:
    """``schemathesis run`` with every check (ours from ``_fuzz_hooks`` too) against ``url``'s live document."""
    report = out / f"{name}.json"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(_config(out)), "--no-color", "run",
               f"{url}/openapi.json", "--checks", "all", "--max-examples", str(max_examples), "--seed", str(seed),
               "--phases", phases, "--generation-database", "none", "--workers", "1", "--request-timeout", "60",
               "--suppress-health-check", "all", "--report", "json",
               "--report-json-path", str(report), *extra]
    if authorization is not None:
        command[command.index("run") + 2:command.index("run") + 2] = ["-H", f"Authorization: {authorization}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKSTORY_", "SCHEMATHESIS_"))}
    env.update({"PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
                "SCHEMATHESIS_HOOKS": "tests.reliability._fuzz_hooks", "COLUMNS": "120"})
    proc = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, timeout=timeout)
    (out / f"{name}.txt").write_text(proc.stdout + proc.stderr)  # the failures in full, beside the report
    data = json.loads(report.read_text()) if report.exists() and report.stat().st_size else {}
    return FuzzRun(name, proc.returncode, proc.stdout + proc.stderr, data)


if __name__ == "__main__":  # python -m tests.reliability._fuzz_support [STORE_URL]
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="fuzz-"))
    target = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{home / 'store.sqlite'}"
    running = FuzzServer(target, home / "server.log")
    made = seed(running, target)
    print(json.dumps({"url": running.url, "pid": running.proc.pid, "log": str(running.log), **made.__dict__},
                     indent=2), flush=True)
    try:
        running.proc.wait()
    except KeyboardInterrupt:
        running.stop()
