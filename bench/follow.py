"""Do the read models keep pace with the pushes on PostgreSQL, and what does a pull pay meanwhile?

    python bench/follow.py [--pg URL] [--workers 2] [--devices 4] [--seconds 25] [--batch 20] [--json]

``backstory serve --workers W`` (with its projections follower, as in production) on a fresh
PostgreSQL schema; ``--devices`` devices, each of its own account, push batches of ``--batch`` facts
as fast as the server answers for ``--seconds``. Every 0.5 s the projections' lag (head of the
notification log minus the lowest tracking position) is read. After the pushes stop, one device
pulls the whole feed at once (the pull that paid for the catch-up in issue 10 item 6), and the time
until the lag is 0 is measured. Figures: ``push_mutations_per_s``, ``push_events_per_s``,
``projected_events_per_s`` (events the projections applied during the push window, per second),
``lag_max``, ``lag_at_end``, ``pull_s`` and its ``pull_behind`` (what the pull said was not projected
yet), ``drain_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
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

import sync  # noqa: E402  bench/sync.py: workload, stores, server, client


DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def positions(conn, schema: str, events_table: str) -> tuple[int, int]:
    """(head of the notification log, lowest projection position), read with psycopg ``conn``."""
    head = conn.execute(f'select coalesce(max(notification_id), 0) from "{schema}"."{events_table}"').fetchone()[0]
    low = conn.execute(f'select coalesce(min(position), 0) from "{schema}".proj_tracking').fetchone()[0]
    return head, low


def measure(base: str, workers: int, devices: int, seconds: float, batch: int, seed: int) -> dict[str, Any]:
    schema = f"bench_follow_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    stores = sync.Stores(sync._with_schema(base, schema))
    try:
        accounts, table = stores.accounts("follow", devices)
        end = datetime.now(UTC) - timedelta(hours=1)
        works = [sync.Workload(seed * 1000 + i, end) for i in range(devices)]
        server = sync.Server(stores.url, stores.tmp, workers=workers, name=f"follow-w{workers}")
        try:
            server.wait_ready()
            for account, work in zip(accounts, works):
                client = sync.Client(server.port, account["token"])
                setup = work.setup()
                sync.check_applied(setup, client.push(sync.push_body(setup)))
                client.close()
            stop = threading.Event()
            pushed = [0] * devices
            errors: list[BaseException] = []

            def device(i: int) -> None:
                client = sync.Client(server.port, accounts[i]["token"])
                try:
                    while not stop.is_set():
                        facts = works[i].facts(batch)
                        sync.check_applied(facts, client.push(sync.push_body(facts)))
                        pushed[i] += len(facts)
                except BaseException as e:  # noqa: BLE001 - reported after the join
                    errors.append(e)
                finally:
                    client.close()

            samples: list[tuple[float, int, int]] = []
            with stores._pg() as conn:
                head0, low0 = positions(conn, schema, table)
                threads = [threading.Thread(target=device, args=(i,), daemon=True) for i in range(devices)]
                t0 = time.perf_counter()
                for t in threads:
                    t.start()
                while time.perf_counter() - t0 < seconds:
                    time.sleep(0.5)
                    head, low = positions(conn, schema, table)
                    samples.append((time.perf_counter() - t0, head, low))
                stop.set()
                for t in threads:
                    t.join()
                window = time.perf_counter() - t0
                head1, low1 = positions(conn, schema, table)
                if errors:
                    raise RuntimeError(f"{len(errors)} device(s) failed; first: {errors[0]!r}\n{server.tail()}")
                # the pull right after: it must answer at once, saying how far behind the feed is
                client = sync.Client(server.port, accounts[0]["token"])
                tp = time.perf_counter()
                page = client.call("GET", "/v1/sync/pull?limit=1000")
                pull_s = time.perf_counter() - tp
                client.close()
                td = time.perf_counter()
                while True:
                    head, low = positions(conn, schema, table)
                    if low >= head or time.perf_counter() - td > 600:
                        break
                    time.sleep(0.2)
                drain_s = time.perf_counter() - td
        finally:
            server.stop()
        mutations = sum(pushed)
        return {
            "workers": workers, "devices": devices, "batch": batch, "seconds": round(window, 1),
            "push_mutations_per_s": round(mutations / window, 1),
            "push_events_per_s": round((head1 - head0) / window, 1),
            "projected_events_per_s": round((low1 - low0) / window, 1),
            "lag_max": max((h - lo for _, h, lo in samples), default=0), "lag_at_end": head1 - low1,
            "pull_s": round(pull_s, 3), "pull_behind": page.get("behind"), "pull_entries": len(page["entries"]),
            "drain_s": round(drain_s, 2),
            "drain_events_per_s": round((head1 - low1) / drain_s, 1) if drain_s > 0.05 else None,
        }
    finally:
        stores.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", default=DEFAULT_PG)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=25.0)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    figures = measure(a.pg, a.workers, a.devices, a.seconds, a.batch, a.seed)
    print(json.dumps(figures) if a.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
