"""The dashboard's program page at random dates of a 5-year history: ``dashboard_ms`` (issue 14).

    python bench/dashboard.py [--events N] [--dates N] [--seed S] [--json]

A SQLite store gets an account (``service.accounts.create_account``, as
``backstory account create`` makes one) whose program holds 5 years of one
person's history (``bench/history.py``'s builder, ``--events`` events). The app is
built as ``backstory serve`` builds each worker's (``api.app.create_app``), its
read models caught up, and a session is opened through the real sign-in form.
Then ``GET /program?as_of=DAY`` at ``--dates`` random days, each timed as the
server spends it (in process, through the WSGI app: no network, no browser),
interleaved with the JSON endpoint's ``GET /v1/program?as_of=DAY`` with the
device's bearer token, the same read without the page around it.

``dashboard_ms`` is the page's median (target: under 50 ms); ``dashboard_api_ms``
the JSON endpoint's, and ``dashboard_ratio`` page / endpoint. Run by ``bench/run.py``
too; alone, it prints the figures and pass or fail.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for path in (str(HERE), str(HERE.parent)):
    if path not in sys.path:
        sys.path.insert(0, path)

import history  # noqa: E402 (bench/history.py: the history builder)

TARGET_MS = 50.0


def build(url: str, events: int, seed: int, progress=lambda text: None) -> dict[str, Any]:
    """An account in the store at ``url`` whose program holds 5 years (``history.YEARS``) of ``events`` events."""
    from service.accounts import create_account
    from service.application import BackstoryApp, program_id_for
    from service.config import parse_store

    app = BackstoryApp(parse_store(url).env)
    try:
        made = create_account(app, "bench")
        ledger = app.ledger(program_id_for(made["account_id"]))
        end = date.today() - timedelta(days=1)
        builder = history.Builder(ledger, events, seed, end, progress=progress)
        t0 = time.perf_counter()
        builder.run()
        return {**made, "start": builder.start, "end": builder.end, "events": builder.decisions + builder.facts,
                "decisions": builder.decisions, "build_s": round(time.perf_counter() - t0, 1)}
    finally:
        app.close()


def _median_ms(runs: list[float]) -> float:
    return round(statistics.median(runs) * 1000, 2)


def measure(url: str, built: dict[str, Any], n_dates: int, seed: int) -> dict[str, Any]:
    """Page and endpoint at the same random days, interleaved, after a warm-up; medians in ms."""
    from api.app import create_app

    app = create_app({"DATABASE_URL": url, "RATE_LIMIT": 0})
    backend = app.extensions["backstory"]
    t0 = time.perf_counter()
    backend.projections.catch_up()  # all of it: a server's follower would have
    catch_up_s = time.perf_counter() - t0
    client = app.test_client()
    form = client.get("/").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    signed = client.post("/", data={"csrf": csrf, "token": built["token"]})
    assert signed.status_code == 303, signed.status_code
    rng = random.Random(seed)
    days = (built["end"] - built["start"]).days
    dates = [(built["start"] + timedelta(days=rng.randint(1, days))).isoformat() for _ in range(n_dates)]
    bearer = {"Authorization": f"Bearer {built['token']}"}

    def timed(target: str, **kw) -> tuple[float, Any]:
        t = time.perf_counter()
        reply = client.get(target, **kw)
        took = time.perf_counter() - t
        assert reply.status_code == 200, (target, reply.status_code)
        return took, reply

    for day in dates[:3]:  # warm-up: templates compiled, caches and connections open
        timed(f"/program?as_of={day}")
        timed(f"/v1/program?as_of={day}", headers=bearer)
    page, api, exercises = [], [], []
    for day in dates:
        took, reply = timed(f"/program?as_of={day}")
        page.append(took)
        exercises.append(reply.get_data(as_text=True).count('<tr class="status-'))
        api.append(timed(f"/v1/program?as_of={day}", headers=bearer)[0])
    backend.close()
    return {"dashboard_ms": _median_ms(page), "dashboard_api_ms": _median_ms(api),
            "dashboard_ratio": round(statistics.median(page) / statistics.median(api), 3),
            "dashboard_p90_ms": round(sorted(page)[int(0.9 * (len(page) - 1))] * 1000, 2),
            "dates": len(dates), "exercises_median": statistics.median(exercises),
            "catch_up_s": round(catch_up_s, 1)}


def dashboard_bench(tmp: str, events: int, n_dates: int, seed: int, progress=lambda text: None) -> dict[str, Any]:
    url = f"sqlite:///{tmp}/dashboard.sqlite"
    built = build(url, events, seed, progress)
    out = measure(url, built, n_dates, seed)
    return {**out, "events": built["events"], "decisions": built["decisions"], "build_s": built["build_s"],
            "years": history.YEARS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000, help="events of the 5-year history (default 100000)")
    ap.add_argument("--dates", type=int, default=41, help="random days asked for (default 41)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="backstory-bench-dashboard-") as tmp:
        f = dashboard_bench(tmp, a.events, a.dates, a.seed, progress=lambda t: print(t, file=sys.stderr))
    f["pass"] = f["dashboard_ms"] < TARGET_MS
    if a.json:
        print(json.dumps(f))
    else:
        print(f"dashboard_ms {f['dashboard_ms']:.1f} ms (target < {TARGET_MS:.0f}: {'pass' if f['pass'] else 'FAIL'});"
              f" JSON endpoint {f['dashboard_api_ms']:.1f} ms, ratio {f['dashboard_ratio']:.2f}; p90 "
              f"{f['dashboard_p90_ms']:.1f} ms; {f['dates']} random days of {f['years']} years, {f['events']:,} "
              f"events ({f['decisions']:,} decisions), {f['exercises_median']:.0f} exercises shown (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
