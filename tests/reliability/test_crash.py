"""Crash safety (issue 5, item 3): SIGKILL the server during pushes, and a CLI during sync and import.

Server kills, on SQLite and PostgreSQL: a real ``backstory serve`` (gunicorn
master and worker) is killed with SIGKILL at seeded random moments, some at a
random delay into a push (so before, during and after its batch commits),
while four devices of two accounts push in threads; it is restarted on the
same store each time and the devices retry as real devices do (see
``_crash_support``). Then ``_crash_checks`` holds the store, the feed and the
read models to "every acknowledged mutation exactly once, nothing half-applied,
no hole".

CLI kills: ``backstory sync`` with many pending changes, and ``backstory
import`` of a large export, killed with SIGKILL mid-way several times and run
again: the result equals an uninterrupted run.

Sizes: ``BACKSTORY_TEST_CRASH_KILLS`` (server kill points during pushes per
backend, default 20), ``BACKSTORY_TEST_CRASH_CLI_KILLS`` (CLI kill points per
test, default 4); ``BACKSTORY_FULL=1`` makes them 100 and 10, with a history of
2,000 mutations instead of 500. ``BACKSTORY_TEST_SEED`` replays a run's random
choices (thread timing still differs).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest

from tests.conftest import PG_URL, Cli, _pg_drop, _pg_schema
from tests.integration.pg_load import EXERCISES, mutation
from tests.reliability import _crash_checks as checks
from tests.reliability._crash_cli import run_killed, write_facts, write_history
from tests.reliability._crash_support import Cluster, Connection, Fleet

FULL = os.environ.get("BACKSTORY_FULL") == "1"
KILLS = int(os.environ.get("BACKSTORY_TEST_CRASH_KILLS") or (100 if FULL else 20))
MIN_KILLS = 20
SEED = int(os.environ.get("BACKSTORY_TEST_SEED") or random.randrange(10**6))
START = datetime.now(UTC) - timedelta(days=40)


def _store(url: str):
    from service.application import open_app

    return open_app(url)


def _accounts(url: str) -> list[dict]:
    from service.accounts import create_account

    app = _store(url)
    try:
        return [create_account(app, name) for name in ("sam", "alex")]
    finally:
        app.close()


def _pair(cluster: Cluster, token: str, name: str) -> dict:
    conn = Connection()
    try:
        status, body, _ = conn.request(cluster.url, "POST", "/v1/devices", {"name": name}, token)
    finally:
        conn.close()
    assert status == 201, (status, body)
    return body


def _set_up(fleet: Fleet, cluster: Cluster, accounts: list[dict]) -> None:
    """Account 0 has three devices, account 1 one; each account's first device starts its program."""
    sam, alex = accounts
    firsts = [fleet.add_device(0, sam["device_id"], sam["token"])]
    for name in ("tablet", "laptop"):
        paired = _pair(cluster, sam["token"], name)
        fleet.add_device(0, paired["device_id"], paired["token"])
    firsts.append(fleet.add_device(1, alex["device_id"], alex["token"]))
    for d in firsts:
        d.seq += 1
        d.add(mutation(d.seq, "init", START, name=f"person {d.account}", timezone="UTC"))
        for name in EXERCISES:
            d.seq += 1
            d.add(mutation(d.seq, "add", START, name=name, position="1:supine", sets=3, reps=10))
        d.send(d.pending)
        assert not d.pending, fleet.problems
        d.look()


def _check_logs(logs: list[str]) -> None:
    for text in logs:
        for bad in ("Traceback", " 500 ", " 503 ", "catch-up failed", "store busy"):
            assert bad not in text, f"server log has {bad!r}:\n{text[-3000:]}"


@pytest.mark.timeout(2400 if FULL else 900)
def test_server_killed_during_pushes_loses_nothing(store_url, tmp_path):
    from service.application import program_id_for

    rng = random.Random(SEED)
    accounts = _accounts(store_url)
    programs = {i: program_id_for(a["account_id"]) for i, a in enumerate(accounts)}
    cluster = Cluster(store_url, tmp_path)
    fleet = Fleet(cluster, SEED)
    started = time.perf_counter()
    try:
        cluster.start()
        _set_up(fleet, cluster, accounts)
        fleet.run(KILLS, rng)
        fleet.flush()
        checks.check_replies(fleet)
        feeds = [checks.pull_feed(cluster.url, a["token"]) for a in accounts]
    finally:
        cluster.stop()
    _check_logs(cluster.logs)
    app = _store(store_url)
    try:
        s = checks.scan(app)
        checks.check_exactly_once(fleet, s, programs)
        checks.check_seqs(fleet, s, app)
        for i, feed in enumerate(feeds):
            mine = {mid for mid, (device_id, _) in fleet.sent.items()
                    if next(d for d in fleet.devices if d.device_id == device_id).account == i}
            checks.check_feed(feed, s, programs[i], mine)
        checks.check_projections(app, store_url)
    finally:
        app.close()
    c = fleet.counts
    statuses = {f"{m} {r} {st}": n for (m, r, st), n in sorted(fleet.statuses.items())}
    print(f"\nserver kills on {store_url.split(':')[0]} (seed {SEED}): {c['kills']} kill points "
          f"({c['kills with a push in flight']} with a push in flight) and {c['kills while booting']} while a "
          f"restarted server booted, {len(fleet.sent)} mutations sent, "
          f"{c['lost replies']} lost replies, {len(fleet.unanswered)} mutations committed whose reply was lost "
          f"and acknowledged only by a later last_seq or 409, "
          f"{sum(1 for a in fleet.answers.values() if a[0].status == 'duplicate')} first answered 'duplicate' "
          f"(committed before the kill), {c['409s followed']} 409s followed; requests {statuses}; "
          f"{time.perf_counter() - started:.0f}s")
    assert c["kills"] >= MIN_KILLS
    assert c["kills with a push in flight"] >= c["kills"] // 3, "too few kills landed during a push"


# ----- CLI kills -----------------------------------------------------------------------------------

CLI_KILLS = int(os.environ.get("BACKSTORY_TEST_CRASH_CLI_KILLS") or (10 if FULL else 4))
HISTORY_ROWS = 2000 if FULL else 500
RECORD_TOPIC = "domain.mutations:MutationRecord.Processed"


@pytest.fixture(scope="module")
def history_file(tmp_path_factory):
    """An export of a five-month history, made once for every CLI crash test."""
    path = tmp_path_factory.mktemp("history") / "history.jsonl"
    assert write_history(path, HISTORY_ROWS, SEED) == HISTORY_ROWS
    return path


@pytest.fixture
def new_cli(store_url, tmp_path):
    """Make CLIs, each in a home of its own with an empty store on the backend of ``store_url`` (not that store)."""
    schemas: list[str] = []

    def make(name: str) -> Cli:
        home = tmp_path / name
        home.mkdir()
        if store_url.startswith("sqlite"):
            return Cli(home, None)
        schemas.append(_pg_schema())
        sep = "&" if "?" in PG_URL else "?"
        return Cli(home, f"{PG_URL}{sep}schema={schemas[-1]}")

    yield make
    for schema in schemas:
        _pg_drop(schema)


def _count(db: str | None, home: Path, where: str = "", name: str = "backstory.sqlite") -> int:
    """Stored events (``where``: an SQL condition) in the store of a CLI home, read beside the running process."""
    if db is None:
        path = home / name
        if not path.exists():
            return 0
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(f"SELECT COUNT(*) FROM stored_events {where}").fetchone()[0]
        except sqlite3.OperationalError:
            return 0  # the tables are not made yet
        finally:
            conn.close()
    import psycopg

    schema = parse_qs(urlsplit(db).query)["schema"][0]
    try:
        return _admin().execute(f'SELECT COUNT(*) FROM "{schema}".backstory_events {where}').fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0


_ADMIN: list = []


def _admin():
    """One autocommit connection to the test PostgreSQL for the kill points' polling (schemas are named in SQL)."""
    import psycopg

    if not _ADMIN or _ADMIN[0].closed:
        _ADMIN[:] = [psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)]
    return _ADMIN[0]


def _records(cli: Cli) -> int:
    return _count(cli.db, cli.home, f"WHERE topic = '{RECORD_TOPIC}'")


def _views(cli: Cli) -> dict:
    """show at two dates, history and a recap of the whole history, as JSON."""
    today = datetime.now(UTC).date()
    out = {f"show {n}": cli.ok("show", "--as-of", (today - timedelta(days=n)).isoformat(), "--json").json()
           for n in (0, 90)}
    out["history"] = cli.ok("history", "--json").json()
    out["recap"] = cli.ok("recap", "--since", (today - timedelta(days=160)).isoformat(), "--until",
                          today.isoformat(), "--json").json()
    return out


@pytest.mark.timeout(1800 if FULL else 600)
def test_import_killed_midway_then_run_again_equals_an_uninterrupted_import(new_cli, history_file):
    rng = random.Random(SEED + 1)
    cli, other_cli = new_cli("interrupted"), new_cli("uninterrupted")
    reference = other_cli.ok("import", str(history_file), "--json").json()
    assert (reference["applied"], reference["refused"]) == (HISTORY_ROWS, [])
    kills, done = [], 0
    for i in range(CLI_KILLS):
        # The first kill lands while the CLI starts (nothing written yet); the others after a random number
        # of newly applied mutations, at whatever point of its transaction the import then is.
        target = 0 if i == 0 else done + rng.randint(1, (HISTORY_ROWS - done) // (CLI_KILLS - i + 1))
        landed = run_killed(cli, ["import", str(history_file)],
                            when=lambda target=target: target == 0 or _records(cli) >= target)
        assert landed, "the import finished before its kill point"
        after = _records(cli)
        assert after >= done, "an interrupted import lost what an earlier run had applied"
        kills.append(after - done)
        done = after
    final = cli.ok("import", str(history_file), "--json").json()
    assert (final["applied"], final["duplicate"], final["refused"]) == (HISTORY_ROWS - done, done, []), final
    assert _records(cli) == _records(other_cli) == HISTORY_ROWS
    assert _count(cli.db, cli.home) == _count(other_cli.db, other_cli.home), "an event was stored twice"
    assert _views(cli) == _views(other_cli)
    assert _exported(cli) == _exported(other_cli)
    print(f"\nimport of {HISTORY_ROWS} mutations killed {len(kills)} times (newly applied before each kill: "
          f"{kills}), then completed: {final['applied']} applied, {final['duplicate']} already present")


def _exported(cli: Cli) -> list[str]:
    """The export without its header (which carries the moment of export)."""
    return cli.ok("export").out.splitlines()[1:]


def _shown(cli: Cli) -> tuple:
    """What a device shows of its program and of its last five months, read in-process as the CLI reads them
    (the replica with the outbox on top), without recorded times and device ids: a change made offline
    shows the device's own until the server's come back with the pull."""
    from service import queries
    from service.application import open_app
    from service.device import DeviceStore

    token = json.loads((cli.home / "remote.json").read_text())["token"]
    app = open_app(cli.db or f"sqlite:///{cli.home / 'backstory.sqlite'}")
    try:
        reader = DeviceStore(app, str(UUID(hex=token.split("_")[1]))).reader()
        end = datetime.now(UTC).replace(hour=23, minute=59, second=59, microsecond=0)  # as the CLI's "today"
        shown = queries.show(reader, end), queries.recap(reader, end - timedelta(days=160), end, UTC)
    finally:
        app.close()
    return _without(shown, "recorded_at", "device_id")


def _without(value, *keys: str):
    if isinstance(value, dict):
        return {k: _without(v, *keys) for k, v in value.items() if k not in keys}
    if isinstance(value, (list, tuple)):
        return [_without(v, *keys) for v in value]
    return value


def _ids(path: Path) -> set[str]:
    return {json.loads(line)["mutation_id"] for line in path.read_text().splitlines()[1:] if line.strip()}


def _kill_point(rng: random.Random, laptop: Cli, store_url: str, unsent: int):
    """A seeded kill point of one ``sync``: while it pushes, while it pulls, or at a random moment."""
    mode = rng.choice(("push", "pull", "moment")) if unsent else rng.choice(("pull", "moment"))
    if mode == "push":
        target = _server_records(store_url) + rng.randint(1, unsent)
        return mode, lambda: _server_records(store_url) >= target
    if mode == "pull":
        replicated = "WHERE topic NOT LIKE 'domain.outbox:%'"
        target = _count(laptop.db, laptop.home, replicated) + rng.randint(1, max(unsent, 20))
        return mode, lambda: _count(laptop.db, laptop.home, replicated) >= target
    deadline = time.monotonic() + rng.uniform(0.0, 2.5)
    return mode, lambda: time.monotonic() >= deadline


def _server_records(store_url: str) -> int:
    if store_url.startswith("sqlite"):
        path = Path(store_url.split("///", 1)[1])
        return _count(None, path.parent, f"WHERE topic = '{RECORD_TOPIC}'", name=path.name)
    return _count(store_url, Path("."), f"WHERE topic = '{RECORD_TOPIC}'")


def _more_changes(laptop: Cli, tmp_path: Path, round_no: int, rng: random.Random) -> set[str]:
    """New changes on the laptop between two syncs: a session typed in, and an import of facts."""
    logged = laptop.ok("log", "Bridge", "--pain-before", "4", "--pain-after", "2", "--json").json()
    chunk = tmp_path / f"facts{round_no}.jsonl"
    ids = set(write_facts(chunk, rng.randint(20, 80), rng.randrange(10**6), "cli-other"))
    laptop.ok("import", str(chunk))
    return ids | {logged["mutation_id"]}


@pytest.mark.timeout(1800 if FULL else 600)
def test_sync_killed_midway_then_run_again_loses_nothing(store_url, new_cli, history_file, tmp_path):
    from service.application import program_id_for

    rng = random.Random(SEED + 2)
    [sam, _] = _accounts(store_url)
    cluster = Cluster(store_url, tmp_path)
    try:
        cluster.start()
        laptop = new_cli("laptop")
        laptop.ok("remote", "set", cluster.url, "--token", sam["token"])
        laptop.ok("import", str(history_file))  # offline work: all of it waits for the first sync
        expected = _ids(history_file)
        kills = []
        for _ in range(4 * CLI_KILLS):
            if len(kills) == CLI_KILLS:
                break
            mode, when = _kill_point(rng, laptop, store_url, len(expected) - _server_records(store_url))
            before = _shown(laptop)
            if run_killed(laptop, ["sync"], when):
                kills.append(mode)
                assert _shown(laptop) == before, f"after a sync killed ({mode}), the laptop shows something else"
            expected |= _more_changes(laptop, tmp_path, len(kills), rng)
        assert len(kills) == CLI_KILLS, f"only {len(kills)} kills landed while the sync ran"
        laptop.ok("sync")
        assert laptop.ok("sync", "--json").json()["pushed"] == 0, "the outbox still had changes after a sync"
        phone = new_cli("phone")
        paired = laptop.ok("device", "pair", "phone", "--json").json()
        phone.ok("remote", "set", cluster.url, "--token", paired["token"])
        phone.ok("sync")
        assert _views(laptop) == _views(phone)
        feed = checks.pull_feed(cluster.url, sam["token"])
    finally:
        cluster.stop()
    _check_logs(cluster.logs)
    app = _store(store_url)
    try:
        s = checks.scan(app)
        assert set(s.records) == expected, "the server's mutations differ from the laptop's changes"
        for mutation_id in expected:
            [record] = s.records[mutation_id]
            assert record.status == "applied", (record.mutation_type, record.status, record.result)
            checks.check_effects(mutation_id, record.mutation_type, record.status, s)
        seqs = sorted(r.seq for [r] in s.records.values())
        assert seqs == list(range(1, len(expected) + 1)), "the laptop's seqs have holes or repeats"
        checks.check_feed(feed, s, program_id_for(sam["account_id"]), expected)
    finally:
        app.close()
    print(f"\nsync killed {len(kills)} times ({', '.join(kills)}), then completed: {len(expected)} mutations on the "
          f"server once each, the laptop equal to a freshly synced phone")
