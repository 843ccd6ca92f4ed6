"""Data safety (issue 5, item 6): a restore reads the same, old events keep loading, foreign databases stay untouched.

Everything runs on SQLite and PostgreSQL (``store_url``), through the real CLI as subprocesses:

- **Restore.** Two devices record a realistic history through a real server (backdated and
  late-entered decisions, a correction and a void, a deconstruction and its rebuild, a promotion on
  evidence and a forced one, two sync conflicts, one kept and one applied). The phone's store
  (the backend under test) is exported and imported into an empty store; ``show`` at 10 seeded
  random dates (some also ``--known-at`` a moment in the middle), ``history`` (whole, of one
  exercise, of a window), ``recap`` of random windows, ``diff`` of random pairs, ``signature``,
  ``conflicts`` and the export itself are identical. Importing again stores nothing twice.
- **Unsynced work travels.** A device whose token was revoked exports its outbox with the rest
  (marked pending); an empty store and another device of the account import it (the device syncs
  it), and another program's export is refused by the linked device, nothing queued.
- **Old events.** The stored samples (``tests/samples/events_v*.jsonl``, every event class at every
  version it had) are written with plain SQL into the tables an older backstory made (no
  schema-version marker); the current code opens that store, marks it, and reads it back
  (show, history, recap, conflicts, export, a projection rebuild), the older classes through their
  upcasts. Every event class of the current code must have a sample at its current version.
- **Not backstory's.** A SQLite file of another application, a text file, a foreign PostgreSQL
  schema, and a store marked with a newer schema version: ``show``, ``init`` and ``serve`` exit 1
  with one line naming the database and what is wrong, and nothing is changed (the file byte for
  byte, the schema's tables and rows). An empty file, a missing path and an empty or missing
  schema are new stores, and a store made before the marker existed still opens.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import PG_URL, Cli, _pg_drop, _pg_schema
from tests.unit.test_event_samples import LINES, SAMPLES_PROGRAM, STORABLE, concrete_event_classes, topic_of, version_of

ROOT = Path(__file__).resolve().parents[2]
START = date(2025, 3, 3)  # the histories are dated in the past, so no test depends on today
SEED = 20250303


def d(n: int) -> str:
    """The ISO date ``n`` days after START (a bare date: noon that day for --at)."""
    return (START + timedelta(days=n)).isoformat()


def pg_url(schema: str) -> str:
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(home: Path) -> Iterator[tuple[str, Cli]]:
    """``backstory serve`` on a free port with its own SQLite store; yields (url, admin CLI)."""
    home.mkdir()
    admin = Cli(home, f"sqlite:///{home / 'server.sqlite'}")
    port = free_port()
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], env=admin.env(), cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (home / "server.log").read_text()
                assert time.monotonic() < deadline, "the server did not come up in 60 s"
                time.sleep(0.1)
        yield url, admin
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


# ----- 1. export, then import into an empty store, reads the same ------------------------------


def fact_id(result) -> str:
    return result.json()["result"]["fact_id"]


def record_history(phone: Cli, tablet: Cli) -> str:
    """The two devices' history (see the module doc); returns a recorded-time moment in the middle."""
    phone.ok("init", "--name", "Robin", "--timezone", "UTC", "--at", d(0))
    phone.ok("add", "Bird dog", "--position", "kneeling:quadruped", "--sets", "3", "--reps", "8", "--per-side",
             "--target", "multifidus", "--protect", "paraspinals", "--at", d(0))
    phone.ok("add", "Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "10", "--at", d(0))
    phone.ok("add", "Side plank", "--position", "1:side-lying", "--sets", "3", "--hold", "20", "--at", d(1))
    phone.ok("add", "Bridge", "--position", "1:supine", "--load", "elastic:1:band", "--sets", "2", "--reps", "12",
             "--at", d(1))
    phone.ok("fitting", "open", "--notes", "cycle 1", "--at", d(1))
    for n in (2, 3, 5, 6, 8):  # the evidence of a promotion: 5 exposures on 5 days, pain after lower
        phone.ok("log", "Bird dog", "--pain-before", "4", "--pain-during", "3", "--pain-after", "2",
                 "--tension", "paraspinals:left:overactive:5", "--note", "it's <b>fine</b>; DROP TABLE x; ünï",
                 "--at", d(n))
    phone.ok("next-day", "Bird dog", "--verdict", "better", "--pain", "2", "--at", d(3))
    walk = fact_id(phone.ok("break", "--kind", "walk", "--seconds", "60", "--at", d(2), "--json"))
    phone.ok("break", "--kind", "extend", "--seconds", "30", "--at", d(4))
    phone.ok("checkin", "--pain", "5", "--starts", "low_back", "--travels", "left_buttock", "--at", d(4))
    typo = fact_id(phone.ok("log", "Dead bug", "--pain-before", "5", "--pain-after", "5", "--at", d(4), "--json"))
    phone.ok("correct", typo, "--pain-after", "3", "--reason", "typed 5 for 3", "--at", d(5))
    phone.ok("void", walk, "--reason", "entered twice", "--at", d(5))
    phone.ok("deconstruct", "Side plank", "--into", "Knee side plank", "--into", "Side-lying hip lift",
             "--reason", "too much for the QL", "--at", d(7))
    phone.ok("log", "knee side plank", "--pain-before", "3", "--pain-after", "2",
             "--tension", "quadratus_lumborum:right:guarding:4", "--at", d(8))
    phone.ok("promote", "Bird dog", "--reason", "calms my back", "--at", d(10))
    phone.ok("fitting", "close", "--at", d(14))
    phone.ok("sync")
    tablet.ok("sync")
    time.sleep(0.05)
    known_at = datetime.now(timezone.utc).isoformat()
    time.sleep(0.05)
    # offline on both devices: the tablet changes two exercises, the phone edits them too (stale)
    tablet.ok("regress", "Dead bug", "--sets", "2", "--reason", "sore", "--at", d(16))
    tablet.ok("progress", "Bird dog", "--reps", "10", "--reason", "easy now", "--at", d(16))
    tablet.ok("flare", "start", "--pain", "6", "--note", "gardening", "--at", d(16))
    tablet.ok("flare", "end", "--pain", "3", "--at", d(18))
    tablet.ok("sync")
    phone.ok("progress", "Dead bug", "--sets", "4", "--reason", "felt strong", "--force", "--at", d(17))
    phone.ok("adapt", "Bird dog", "--direction", "anti_rotation", "--reason", "therapist's idea", "--at", d(17))
    phone.ok("adapt", "Bridge", "--direction", "hinge:sagittal", "--reason", "new pattern", "--at", d(17))
    report = phone.ok("sync", "--json").json()
    assert report["conflict"] == 2, report
    conflicts = {c["exercise"]: c["id"] for c in phone.ok("conflicts", "--json").json()["conflicts"]}
    phone.ok("resolve", conflicts["Dead bug"], "--keep-current", "--at", d(19))
    phone.ok("resolve", conflicts["Bird dog"], "--apply-mine", "--at", d(19))
    phone.ok("regress", "Bird dog", "--reps", "6", "--reason", "entered late: fewer reps back then", "--at", d(12))
    phone.ok("rebuild", "Side plank", "--reason", "strong again", "--at", d(20))
    phone.ok("promote", "Dead bug", "--force", "--reason", "the therapist says it is a keeper", "--at", d(21))
    phone.ok("retire", "Bridge", "--reason", "bored of it", "--at", d(22))
    phone.ok("sync")
    tablet.ok("sync")
    return known_at


def read_plan(known_at: str) -> list[tuple[str, ...]]:
    """The reads compared after a restore: 10 seeded random dates, windows and pairs over the history."""
    rng = random.Random(SEED)
    dates = sorted(rng.sample(range(-2, 26), 10))
    plan: list[tuple[str, ...]] = [("show", "--as-of", d(n), "--json") for n in dates]
    plan += [("show", "--as-of", d(n), "--known-at", known_at, "--json") for n in [rng.choice(dates), 25]]
    plan += [("show", "--as-of", d(40), "--json"), ("history", "--json"), ("history", "bird dog", "--json"),
             ("history", "--since", d(5), "--until", d(17), "--json"), ("signature", "--json"),
             ("conflicts", "--json")]
    for _ in range(2):
        a, b = sorted(rng.sample(range(-2, 26), 2))
        plan.append(("recap", "--since", d(a), "--until", d(b), "--json"))
        plan.append(("diff", d(a), d(b), "--json"))
    plan.append(("recap", "--since", d(0), "--until", d(25), "--json"))
    return plan


def read_all(cli: Cli, plan: list[tuple[str, ...]]) -> dict[str, object]:
    return {" ".join(args): cli.ok(*args).json() for args in plan}


def export_body(cli: Cli) -> list[str]:
    lines = cli.ok("export", "--format", "jsonl").out.splitlines()
    assert json.loads(lines[0])["format"] == "backstory-mutations"
    return lines[1:]


@dataclass
class Recorded:
    """The history recorded once per module: the phone that holds it, its export, and what it reads."""

    phone: Cli
    export: Path
    plan: list[tuple[str, ...]]
    expected: dict[str, object]
    known_at: str


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Recorded:
    """Two devices record the history through a real server; the phone's reads and export are kept."""
    tmp = tmp_path_factory.mktemp("history")
    with running_server(tmp / "server") as (url, admin):
        token = admin.ok("account", "create", "robin", "--json").json()["token"]
        phone, tablet = Cli(tmp / "phone", None), Cli(tmp / "tablet", None)
        for home in (phone.home, tablet.home):
            home.mkdir()
        phone.ok("remote", "set", url, "--token", token)
        tablet.ok("remote", "set", url, "--token", phone.ok("device", "pair", "tablet", "--json").json()["token"])
        known_at = record_history(phone, tablet)
    plan = read_plan(known_at)
    export = tmp / "export.jsonl"
    phone.ok("export", "-o", str(export))
    return Recorded(phone, export, plan, read_all(phone, plan), known_at)


@pytest.mark.timeout(600)
def test_export_then_import_into_an_empty_store_reads_the_same(recorded, store_url, tmp_path):
    """The phone's export, imported into an empty store of each backend, answers every read the same."""
    check_the_reads_are_not_empty(recorded.expected, recorded.known_at)
    restored = Cli(tmp_path / "restored", None if store_url.startswith("sqlite") else store_url)
    restored.home.mkdir()
    exported = len(recorded.export.read_text(encoding="utf-8").splitlines()) - 1
    counts = {"applied": exported - 2, "duplicate": 0, "refused": [], "conflict": 2}  # two were kept as conflicts
    assert restored("import", str(recorded.export), "--json").json() == counts
    got = read_all(restored, recorded.plan)
    assert [k for k in recorded.expected if got[k] != recorded.expected[k]] == []
    assert export_body(restored) == export_body(recorded.phone)

    again = restored("import", str(recorded.export), "--json").json()
    assert again == {"applied": 0, "duplicate": exported, "refused": []}
    first = [recorded.plan[0], ("history", "--json")]
    assert read_all(restored, first) == {" ".join(args): recorded.expected[" ".join(args)] for args in first}


def check_the_reads_are_not_empty(expected: dict, known_at: str) -> None:
    """The compared reads hold what the history put there (a restore of nothing would compare equal too)."""
    now = {e["name"]: e for e in expected[f"show --as-of {d(40)} --json"]["exercises"]}
    assert {n: e["status"] for n, e in now.items()} == {
        "Bird dog": "active", "Dead bug": "active", "Side plank": "active", "Knee side plank": "active",
        "Side-lying hip lift": "active", "Bridge": "retired"}
    assert now["Bird dog"]["prescription"]["direction"]["pattern"] == "anti_rotation"  # applied by resolve
    assert now["Dead bug"]["prescription"]["sets"] == 2  # the stale progress was not kept
    assert [e["name"] for e in expected["signature --json"]["exercises"]] == ["Bird dog", "Dead bug"]
    conflicts = expected["conflicts --json"]["conflicts"]
    assert sorted(c["resolution"] for c in conflicts) == ["apply-mine", "keep-current"]
    whole = expected[f"recap --since {d(0)} --until {d(25)} --json"]
    assert whole["sessions"] == 7 and whole["breaks"] == 1  # the voided walk is not counted
    assert len(expected["history --json"]["entries"]) == 17
    then = {e["name"]: e for e in expected[f"show --as-of {d(25)} --known-at {known_at} --json"]["exercises"]}
    assert then["Dead bug"]["prescription"]["sets"] == 3 and then["Bridge"]["status"] == "active"  # not known yet


def exercises(cli: Cli) -> dict[str, dict]:
    return {e["name"]: e for e in cli.ok("show", "--as-of", d(30), "--json").json()["exercises"]}


@pytest.mark.timeout(600)
def test_a_revoked_devices_unsynced_changes_travel_in_its_export(tmp_path):
    """Issue 9, item 2: the phone's token is revoked with two changes in its outbox; its export carries
    them (marked pending) to an empty store and to the tablet, which syncs them; twice applies nothing twice."""
    with running_server(tmp_path / "server") as (url, admin):
        token = admin.ok("account", "create", "sam", "--json").json()["token"]
        phone, tablet, fresh = (Cli(tmp_path / name, None) for name in ("phone", "tablet", "fresh"))
        for home in (phone.home, tablet.home, fresh.home):
            home.mkdir()
        phone.ok("remote", "set", url, "--token", token)
        tablet.ok("remote", "set", url, "--token", phone.ok("device", "pair", "tablet", "--json").json()["token"])
        phone.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", d(0))
        phone.ok("add", "Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "8", "--at", d(1))
        phone.ok("sync")
        tablet.ok("sync")
        tablet.ok("device", "revoke", str(uuid.UUID(hex=token.split("_")[1])), "--yes")  # it paired the tablet
        phone.ok("log", "Dead bug", "--pain-before", "5", "--pain-after", "3", "--at", d(5))
        phone.ok("progress", "Dead bug", "--sets", "4", "--reason", "easy now", "--force", "--at", d(6))
        assert phone("sync").code == 1  # 403: the changes stay in the outbox
        path = tmp_path / "phone.jsonl"
        assert "(2 not yet synced, marked pending)" in phone.ok("export", "-o", str(path)).err
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
        assert [(r["type"], r.get("status", "applied")) for r in rows] == [
            ("init", "applied"), ("add", "applied"), ("log", "pending"), ("progress", "pending")]

        assert fresh.ok("import", str(path), "--json").json() == {"applied": 4, "duplicate": 0, "refused": []}
        assert fresh.ok("import", str(path), "--json").json() == {"applied": 0, "duplicate": 4, "refused": []}
        assert tablet.ok("import", str(path), "--json").json() == {
            "applied": 0, "queued": 2, "duplicate": 2, "refused": []}
        assert tablet.ok("sync", "--json").json()["applied"] == 2
        assert tablet.ok("import", str(path), "--json").json()["queued"] == 0
        assert exercises(tablet) == exercises(fresh) == exercises(phone)
        assert exercises(tablet)["Dead bug"]["prescription"]["sets"] == 4
        for cli in (tablet, fresh):
            assert cli.ok("recap", "--since", d(0), "--until", d(30), "--json").json()["sessions"] == 1

        # the tablet refuses another program's export (it would have queued it for the server to reject)
        other = tmp_path / "other.jsonl"
        fresh_other = Cli(tmp_path / "other", None)
        fresh_other.home.mkdir()
        fresh_other.ok("init", "--name", "Other", "--at", d(2))
        fresh_other.ok("export", "-o", str(other))
        refused = tablet("import", str(other))
        assert refused.code == 1 and "(other_program)" in refused.err
        assert tablet.ok("sync", "--json").json()["pushed"] == 0


# ----- 2. old events keep loading: the stored samples in a store an older backstory made ---------

SQLITE_V1_TABLES = [  # what eventsourcing 9.5 made for backstory before the schema-version marker existed
    "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
    "PRIMARY KEY (originator_id, originator_version))",
    "CREATE TABLE stored_snapshots (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
    "PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID",
]
POSTGRES_V1_TABLES = [
    "CREATE TABLE {s}.backstory_events (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
    "topic text, state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version))",
    "CREATE UNIQUE INDEX backstory_events_notification_id_idx ON {s}.backstory_events (notification_id ASC)",
    "CREATE TABLE {s}.backstory_snapshots (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
    "topic text, state bytea, PRIMARY KEY (originator_id, originator_version))",
]


def schema_of(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["schema"][0]


def pg_connect():
    import psycopg

    return psycopg.connect(PG_URL, autocommit=True)


def write_old_store(store_url: str, home: Path) -> Cli:
    """The sample rows written with plain SQL, in file order, into an older backstory's tables; its CLI."""
    if store_url.startswith("sqlite"):
        path = home / "backstory.sqlite"
        conn = sqlite3.connect(path)
        with conn:
            for statement in SQLITE_V1_TABLES:
                conn.execute(statement)
            conn.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", [
                (uuid.UUID(line["originator_id"]).hex, line["originator_version"], line["topic"],
                 line["state"].encode("utf-8")) for line in STORABLE])
        conn.close()
        return Cli(home, None)
    schema = schema_of(store_url)
    with pg_connect() as conn:
        for statement in POSTGRES_V1_TABLES:
            conn.execute(statement.format(s=f'"{schema}"'))
        with conn.cursor() as cur:
            cur.executemany(f'INSERT INTO "{schema}".backstory_events (originator_id, originator_version, topic, state) '
                            "VALUES (%s, %s, %s, %s)", [
                                (uuid.UUID(line["originator_id"]), line["originator_version"], line["topic"],
                                 line["state"].encode("utf-8")) for line in STORABLE])
    return Cli(home, store_url)


def marker(store_url: str, home: Path) -> list[tuple[str, str]] | None:
    """The rows of the store's schema-version marker, or None when it has no marker table."""
    if store_url.startswith("sqlite"):
        conn = sqlite3.connect(home / "backstory.sqlite")
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'backstory_meta'").fetchone():
                return None
            return conn.execute("SELECT key, value FROM backstory_meta").fetchall()
        finally:
            conn.close()
    schema = schema_of(store_url)
    with pg_connect() as conn:
        if conn.execute("SELECT to_regclass(%s)", [f'"{schema}".backstory_meta']).fetchone()[0] is None:
            return None
        return [tuple(r) for r in conn.execute(f'SELECT key, value FROM "{schema}".backstory_meta').fetchall()]


def test_every_event_class_has_a_stored_sample_at_its_current_version():
    """A class whose class_version is bumped without a new sample fails here (run tests/samples/make_samples.py)."""
    classes = concrete_event_classes()
    assert len(classes) >= 37
    sampled = {(line["topic"], line["class_version"]) for line in LINES}
    missing = [f"{topic_of(c)} v{version_of(c)}" for c in classes if (topic_of(c), version_of(c)) not in sampled]
    assert missing == []
    older = sorted({(t, v) for t, v in sampled if v < version_of(next(c for c in classes if topic_of(c) == t))})
    assert older, "the samples hold at least one older class version, read through its upcast"


def test_a_store_of_old_events_loads_through_the_current_code(store_url, tmp_path):
    """An older backstory's store (no marker, v1 and v2 events) opens, reads back, rebuilds, and is marked."""
    home = tmp_path / "old"
    home.mkdir()
    cli = write_old_store(store_url, home)
    assert marker(store_url, home) is None

    shown = cli.ok("show", "--as-of", "2024-04-01", "--json").json()
    assert (shown["program"]["name"], shown["program"]["timezone"], shown["version"]) == (
        "Sample program", "Europe/Paris", 19)  # events_v7's policy change, events_v9's forced progression
    assert {e["name"]: e["status"] for e in shown["exercises"]} == {
        "Glute bridge": "active", "Dead bug": "retired", "Deadlift": "active", "Hip hinge drill": "active",
        "Brace": "active"}
    earlier = {e["name"]: e for e in cli.ok("show", "--as-of", "2024-03-05", "--json").json()["exercises"]}
    assert earlier["Glute bridge"]["prescription"]["sets"] == 4 and "Brace" not in earlier
    history = cli.ok("history", "--json").json()["entries"]
    assert len(history) == 19 and [e["type"] for e in history[-3:]] == ["fitting-close", "policy-set", "progress"]
    assert history[-1]["to"]["forced"] is True and history[-1]["to"]["override"]["light"] == "red"
    # in valid-time order, the backfill's move of the start (events_v6) comes before the init
    assert [e["type"] for e in history[:2]] == ["start-moved-back", "init"]
    recap = cli.ok("recap", "--since", "2024-03-01", "--until", "2024-03-31", "--json").json()
    assert recap["sessions"] == 1 and recap["breaks"] == 0  # the one break was voided
    assert recap["tension"][0]["muscle"] == "paraspinals"
    [conflict] = cli.ok("conflicts", "--json").json()["conflicts"]
    assert (conflict["exercise"], conflict["resolution"]) == ("Glute bridge", "keep-current")
    exported = [json.loads(line) for line in cli.ok("export").out.splitlines()[1:]]
    assert sorted((r["type"], r.get("status", "applied")) for r in exported) == [
        ("checkin", "applied"), ("log", "applied"), ("progress", "conflict")]  # the checkin is a v1 record

    cli.ok("projections", "rebuild")
    status = cli.ok("projections", "status", "--json").json()["projections"]
    assert {(p["head"], p["lag"]) for p in status} == {(len(STORABLE), 0)}
    assert marker(store_url, home) == [("schema_version", "1")]
    check_every_sample_decodes_from_the_store(cli, store_url)


def check_every_sample_decodes_from_the_store(cli: Cli, store_url: str) -> None:
    """Read back through the current code's store, each stored row is an event of its class, upcast fields there."""
    from service.application import open_app

    app = open_app(store_url if cli.db else f"sqlite:///{cli.home / 'backstory.sqlite'}")
    try:
        notes = app.recorder.select_notifications(1, 1000)
        assert len(notes) == len(STORABLE)
        for note, line in zip(notes, STORABLE):
            event = app.mapper.to_domain_event(note)
            assert topic_of(type(event)) == line["topic"], line["_where"]
            declared = {n for k in type(event).__mro__ if k.__module__.startswith("domain.")
                        for n in vars(k).get("__annotations__", {})}
            assert declared <= set(vars(event)), line["_where"]
        [old] = [line for line in LINES if line["topic"].endswith("MutationRecord.Processed")
                 and line["class_version"] == 1]
        record = app.ledger(SAMPLES_PROGRAM).mutation_record(json.loads(old["state"])["mutation_id"])
        assert (record.mutation_type, record.program_id, record.seq, record.base_version) == (
            "checkin", None, None, None)
    finally:
        app.close()


# ----- 3. a database that is not backstory's, or of a newer backstory, is refused untouched ------


def files_in(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def refused_everywhere(cli: Cli, *needles: str) -> None:
    """show, init and serve each exit 1 with one line naming the database and what is wrong."""
    port = str(free_port())
    for args in (("show", "--json"), ("init", "--name", "Intruder"), ("serve", "--port", port)):
        r = cli(*args)
        lines = r.err.strip().splitlines()
        assert (r.code, len(lines)) == (1, 1), (args, r.code, r.err)
        assert lines[0].startswith("backstory: ") and all(n in lines[0] for n in needles), (args, lines[0])
        assert r.out == ""


def other_app_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, note TEXT)")
        conn.executemany("INSERT INTO customers (name, note) VALUES (?, ?)", [("Ada", "likes tea"), ("Bob", "-")])
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, total REAL)")
        conn.execute("INSERT INTO orders (customer, total) VALUES (1, 9.5)")
    conn.close()


def other_app_sqlite_in_wal_mode(path: Path) -> None:
    other_app_sqlite(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    conn.close()


def other_eventsourcing_app(path: Path) -> None:
    """Another eventsourcing application: the same table names, somebody else's events."""
    conn = sqlite3.connect(path)
    with conn:
        for statement in SQLITE_V1_TABLES:
            conn.execute(statement)
        conn.execute("INSERT INTO stored_events VALUES (?, 1, 'shop.domain:Cart.Created', ?)",
                     [uuid.uuid4().hex, b'{"timestamp": null}'])
    conn.close()


@pytest.mark.parametrize("make, what", [
    (other_app_sqlite, "holds tables of another application (customers, orders)"),
    (other_app_sqlite_in_wal_mode, "holds tables of another application (customers, orders)"),
    (lambda p: p.write_text("name,pain\nsam,4\n"), "is not a SQLite database file"),
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\x07" * 2000), "cannot be read as a SQLite database"),
    (other_eventsourcing_app, "holds events of another application ('shop.domain:Cart.Created')"),
], ids=["other-app", "other-app-wal", "text", "corrupt", "other-eventsourcing-app"])
def test_a_file_that_is_not_a_backstory_store_is_refused_and_unchanged(tmp_path, make, what):
    folder = tmp_path / "theirs"
    folder.mkdir()
    path = folder / "data.db"
    make(path)
    before = files_in(folder)
    home = tmp_path / "home"
    home.mkdir()
    refused_everywhere(Cli(home, f"sqlite:///{path}"), str(path), what, "not a backstory store")
    assert files_in(folder) == before  # byte for byte, and no journal or WAL file left beside it

    from api.app import create_app
    from service.store_check import ForeignStore

    with pytest.raises(ForeignStore):
        create_app({"DATABASE_URL": f"sqlite:///{path}", "RATE_LIMIT": 0})
    assert files_in(folder) == before


def pg_objects(schema: str) -> dict[str, object]:
    """Everything in a PostgreSQL schema: relations, types, functions, and the rows of its tables."""
    with pg_connect() as conn:
        rels = conn.execute("SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = %s ORDER BY 1", [schema]).fetchall()
        types = conn.execute("SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                             "WHERE n.nspname = %s ORDER BY 1", [schema]).fetchall()
        funcs = conn.execute("SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                             "WHERE n.nspname = %s ORDER BY 1", [schema]).fetchall()
        rows = {name: conn.execute(f'SELECT * FROM "{schema}"."{name}" ORDER BY 1').fetchall()
                for name, kind in rels if kind == "r"}
    return {"relations": rels, "types": types, "functions": funcs, "rows": rows}


@pytest.mark.skipif(not PG_URL, reason="needs BACKSTORY_TEST_POSTGRES_URL")
def test_a_foreign_postgres_schema_is_refused_and_unchanged(tmp_path):
    schema = _pg_schema()
    try:
        with pg_connect() as conn:
            conn.execute(f'CREATE TABLE "{schema}".customers (id serial PRIMARY KEY, name text)')
            conn.execute(f"INSERT INTO \"{schema}\".customers (name) VALUES ('Ada'), ('Bob')")
            conn.execute(f'CREATE VIEW "{schema}".names AS SELECT name FROM "{schema}".customers')
        before = pg_objects(schema)
        (tmp_path / "home").mkdir()
        refused_everywhere(Cli(tmp_path / "home", pg_url(schema)), f"schema {schema} of PostgreSQL database",
                           "holds tables of another application (customers, names)", "?schema=NAME")
        assert pg_objects(schema) == before  # no table, type or function of ours was created
    finally:
        _pg_drop(schema)


def store_state(cli: Cli, store_url: str) -> object:
    if not cli.db:
        return files_in(cli.home)
    return pg_objects(schema_of(store_url))


def test_a_store_of_a_newer_schema_version_is_refused_and_unchanged(store_url, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    cli = Cli(home, None if store_url.startswith("sqlite") else store_url)
    cli.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", d(0))
    assert marker(store_url, home) == [("schema_version", "1")]
    if cli.db:
        with pg_connect() as conn:
            conn.execute(f"UPDATE \"{schema_of(store_url)}\".backstory_meta SET value = '2'")
    else:
        conn = sqlite3.connect(home / "backstory.sqlite")
        with conn:
            conn.execute("UPDATE backstory_meta SET value = '2'")
        conn.close()
    before = store_state(cli, store_url)
    refused_everywhere(cli, "has schema version 2, and this backstory reads up to 1", "newer backstory")
    assert store_state(cli, store_url) == before


def test_empty_and_missing_stores_are_new_and_get_the_marker(store_url, tmp_path):
    if store_url.startswith("sqlite"):
        empty = tmp_path / "empty.sqlite"
        empty.touch()
        urls = [f"sqlite:///{empty}", f"sqlite:///{tmp_path / 'not' / 'yet' / 'there.sqlite'}"]
    else:
        missing = f"bs_{uuid.uuid4().hex[:12]}"
        urls = [store_url, pg_url(missing)]  # an empty schema, and one that does not exist yet
    try:
        for n, url in enumerate(urls):
            (tmp_path / f"home{n}").mkdir()
            cli = Cli(tmp_path / f"home{n}", url)
            cli.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", d(0))
            assert cli.ok("show", "--as-of", d(1), "--json").json()["program"]["name"] == "Sam"
            from service.store_check import MARKED, check_store

            assert check_store(url) == MARKED
    finally:
        if not store_url.startswith("sqlite"):
            _pg_drop(missing)


def test_a_store_made_before_the_marker_still_opens_and_is_marked(store_url, tmp_path):
    """A store the previous code made (event tables and read models, no marker) is taken as version 1."""
    from projections import Projections
    from service.application import BackstoryApp, program_id_for
    from service.config import parse_store
    from service.handling import handle
    from service.mutation import Mutation

    url = store_url if not store_url.startswith("sqlite") else f"sqlite:///{tmp_path / 'home' / 'backstory.sqlite'}"
    (tmp_path / "home").mkdir()
    app = BackstoryApp(parse_store(url).env)  # as the code before the marker opened a store
    Projections(app, url).close()
    at = datetime(2025, 3, 3, 12, tzinfo=timezone.utc)
    handle(app.ledger(program_id_for("local")), Mutation(str(uuid.uuid4()), "init", at, "cli-old",
                                                        {"name": "Old", "timezone": "UTC"}))
    app.close()
    home = tmp_path / "home"
    assert marker(store_url, home) is None
    cli = Cli(home, None if store_url.startswith("sqlite") else store_url)
    assert cli.ok("show", "--as-of", d(1), "--json").json()["program"]["name"] == "Old"
    assert marker(store_url, home) == [("schema_version", "1")]
