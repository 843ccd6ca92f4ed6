"""Projections against a real store (SQLite, and PostgreSQL when configured).

Histories are built through the real command paths: ``service.sync.push`` for
two accounts with two devices each (seeded random mutations, backdated,
stale, conflicting, corrected and voided), and ``service.handling.handle``
for a third program (the demo). The read models must then answer exactly as
the in-process queries over the aggregates, at many random valid and
recorded times; a rebuild must give the very same rows; catching up twice,
in small steps or after a restart must change nothing more.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.decision_context import FAR_FUTURE
from projections import Projections, stored_event
from projections.queries import SESSION_FIELDS, view_at
from projections.queries import tension as projected_tension
from projections.tables import metadata, programs
from service import queries
from service.accounts import authenticate, create_account, list_devices, pair_device
from service.application import BackstoryApp, program_id_for
from service.config import parse_store
from service.demo import mutations as demo_mutations
from service.fact_reads import facts_between
from service.handling import handle
from service.mutation import Mutation
from service.insights.lights import judged_sessions
from service.record import ledger_record
from service.insights.tension import tension as tension_insight
from service.sync import push

NOW = datetime.now(UTC)
START = NOW - timedelta(days=90)
NAMES = ("Dead bug", "Bird dog", "Bridge", "Side plank", "Cat cow", "Pallof press", "Clam", "Curl-up")
MUSCLES = ("paraspinals", "multifidus", "glutes", "hip_flexors", "obliques", "hamstrings")
ZONES = (ZoneInfo("UTC"), ZoneInfo("Europe/Paris"), ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Tokyo"))


# ----- building histories ----------------------------------------------------------------------


class Dev:
    """One device of an account: its principal, its seq counter, and the program version it last saw."""

    def __init__(self, app: BackstoryApp, token: str):
        self.who = authenticate(app, f"Bearer {token}")
        self.seq = 0
        self.seen: int | None = None


class World:
    """One account with two devices, pushing a seeded random history through ``service.sync.push``."""

    def __init__(self, app: BackstoryApp, name: str, seed: int, zone: str = "Europe/Paris"):
        self.app, self.rng, self.zone = app, random.Random(seed), zone
        first = create_account(app, name)
        self.devices = [Dev(app, first["token"])]
        self.devices.append(Dev(app, pair_device(app, self.devices[0].who, "tablet")["token"]))
        self.who = self.devices[0].who
        self.ledger = self.who.ledger(app)
        self.facts: list[str] = []
        self.conflicts: list[str] = []
        self.clock = START

    @property
    def program_id(self) -> str:
        return str(self.who.program_id)

    def run(self, steps: int, after_step=None) -> None:
        for step in range(steps):
            self.clock += timedelta(hours=self.rng.choice((1, 3, 7, 13)))
            dev = self.rng.choice(self.devices)
            if self.rng.random() < 0.4 or dev.seen is None:
                program = self.ledger.program()
                dev.seen = program.version if program else None
            batch = [self._mutation(dev) for _ in range(self.rng.choice((1, 1, 1, 2, 3)))]
            out = push(self.app, dev.who, batch, now=self.clock)
            for r in out["results"]:
                result = r.get("result") or {}
                if r["status"] == "applied" and "fact_id" in result and "changes" not in result:
                    self.facts.append(result["fact_id"])
                if r["status"] == "conflict":
                    self.conflicts.append(r["conflict"]["id"])
            if after_step is not None:
                after_step(step)

    def concurrent_progressions(self) -> None:
        """Both devices progress one exercise against the same version: the second is a conflict.

        (The random histories' stale decisions mostly name exercises added after their date, which
        are refused, so this makes sure every history has a conflict.)
        """
        program = self.ledger.program()
        ex = next(e for e in program.view(self.clock).exercises.values()
                  if e.status in ("active", "paused") and e.prescription["sets"] < 19)
        self.clock += timedelta(hours=1)
        for dev, sets in zip(self.devices, (1, 2)):
            dev.seq += 1
            m = Mutation(str(uuid.uuid4()), "progress", self.clock, "device",
                         {"exercise": ex.name, "sets": ex.prescription["sets"] + sets, "reason": "easy"},
                         base_version=program.version, seq=dev.seq)
            for r in push(self.app, dev.who, [m], now=self.clock)["results"]:
                if r["status"] == "conflict":
                    self.conflicts.append(r["conflict"]["id"])

    def backfill(self) -> None:
        """The tablet enters weeks before the program's start: an add, then a check-in earlier still."""
        dev = self.devices[1]
        for kind, days, args in (("add", 45, {"name": "Backfilled bridge", "position": "1:supine", "sets": 2,
                                               "reps": 8}),
                                 ("checkin", 50, {"pain": 4})):
            dev.seq += 1
            m = Mutation(str(uuid.uuid4()), kind, START - timedelta(days=days), "device", args, seq=dev.seq)
            assert push(self.app, dev.who, [m], now=self.clock)["results"][0]["status"] == "applied"

    def _occurred(self) -> datetime:
        r = self.rng.random()
        if r < 0.6:
            back = timedelta(minutes=self.rng.randint(0, 120))
        elif r < 0.9:
            back = timedelta(days=self.rng.randint(1, 20), hours=self.rng.randint(0, 23))
        else:
            back = timedelta(minutes=-self.rng.randint(1, 9))  # a little ahead of the server clock
        return (self.clock - back).astimezone(ZoneInfo(self.zone))

    def _mutation(self, dev: Dev) -> Mutation:
        dev.seq += 1
        kind, args = self._pick()
        decision = kind not in ("log", "next-day", "break", "checkin", "flare-start", "flare-end", "correct", "void")
        occurred = START - timedelta(days=30) if kind == "init" else self._occurred()
        return Mutation(str(uuid.uuid4()), kind, occurred, "device", args,
                        base_version=dev.seen if decision else None, seq=dev.seq)

    def _pick(self) -> tuple[str, dict]:
        rng = self.rng
        program = self.ledger.program()
        if program is None:
            return "init", {"name": "Program", "timezone": self.zone}
        view = program.view()
        current = [e for e in view.exercises.values() if e.status != "retired"]
        if len(current) < 3 or rng.random() < 0.05:
            return "add", {"name": rng.choice(NAMES) + ("" if rng.random() < 0.7 else f" {rng.randint(2, 9)}"),
                           "position": f"{rng.randint(1, 3)}:supine", "sets": rng.randint(2, 4),
                           "reps": rng.randint(5, 12), "reason": "plan"}
        ex = rng.choice(current)
        rx = ex.prescription
        kind = rng.choices(
            ("log", "next-day", "break", "checkin", "flare-start", "flare-end", "progress", "regress", "adapt",
             "pause", "resume", "retire", "rebuild", "deconstruct", "promote", "demote", "fitting-open",
             "fitting-close", "correct", "void", "resolve", "policy-set"),
            (30, 5, 8, 5, 2, 2, 8, 8, 2, 2, 2, 1, 1, 1, 2, 1, 2, 2, 5, 2, 3, 1))[0]
        base = {"exercise": ex.name, "reason": "because"}
        if kind == "log":
            tension = [f"{rng.choice(MUSCLES)}:{rng.choice(('left', 'right', 'both'))}:overactive:{rng.randint(0, 9)}"
                       for _ in range(rng.choice((0, 0, 1, 2, 3)))]
            return kind, {"exercise": ex.name, "sets": rng.randint(1, 4), "reps": rng.randint(3, 12),
                          "pain_before": rng.randint(0, 8), "pain_during": rng.randint(0, 8),
                          "pain_after": rng.randint(0, 8), "tension": tension, "note": "ok"}
        if kind == "next-day":
            return kind, {"exercise": ex.name, "verdict": rng.choice(("better", "same", "worse")),
                          "pain": rng.randint(0, 6)}
        if kind == "break":
            return kind, {"kind": rng.choice(("stand", "walk", "extend")), "seconds": rng.randint(20, 90)}
        if kind in ("checkin", "flare-start", "flare-end"):
            return kind, {"pain": rng.randint(0, 9)}
        if kind == "progress":
            return kind, {**base, "sets": min((rx.get("sets") or 1) + 1, 20)}
        if kind == "regress":
            return kind, {**base, "sets": max((rx.get("sets") or 2) - 1, 1)}
        if kind == "adapt":
            return kind, {**base, "direction": rng.choice(("hinge:sagittal", "rotation:transverse"))}
        if kind == "deconstruct":
            return kind, {**base, "into": [f"{ex.name} part {rng.randint(1, 99)}", f"{ex.name} part {rng.randint(100, 199)}"]}
        if kind == "promote":
            return kind, {**base, "force": True}
        if kind in ("fitting-open", "fitting-close"):
            return kind, {"notes": "fit"}
        if kind == "policy-set":
            return kind, {"policy": "pain-monitoring", "params": {"green_max": rng.randint(0, 5)}, "reason": "tuned"}
        if kind == "correct" and self.facts:
            change = rng.choice(({"pain_after": rng.randint(0, 9)}, {"tension": [f"glutes:left:guarding:{rng.randint(0, 9)}"]},
                                 {"pain": rng.randint(0, 9)}, {"note": "fixed"}))
            return kind, {"fact": rng.choice(self.facts), **change, "reason": "typo"}
        if kind == "void" and self.facts:
            return kind, {"fact": rng.choice(self.facts), "reason": "duplicate"}
        if kind == "resolve" and self.conflicts:
            choice = rng.choice(("keep_current", "apply_mine"))
            return kind, {"conflict": rng.choice(self.conflicts), choice: True}
        if kind in ("pause", "resume", "retire", "rebuild", "demote"):
            wanted = {"resume": "paused", "rebuild": "deconstructed"}.get(kind)
            fits = [e for e in current if (e.status == wanted if wanted else kind != "demote" or e.signature)]
            return kind, {**base, "exercise": rng.choice(fits or [ex]).name}
        return "break", {"kind": "walk", "seconds": 30}


def build_store(app: BackstoryApp, steps: int = 120) -> tuple[World, World]:
    """Two accounts pushing random histories, and the demo program handled in process."""
    a = World(app, "sam", seed=11)
    b = World(app, "alex", seed=22, zone="America/Los_Angeles")
    a.run(steps)
    b.run(steps // 2)
    a.concurrent_progressions()
    b.concurrent_progressions()
    b.backfill()
    local = app.ledger(program_id_for("local"))
    for m in demo_mutations(NOW, ZoneInfo("Asia/Tokyo")):
        handle(local, m, recorded_at=NOW)
    return a, b


@pytest.fixture
def app(store_url):
    opened = BackstoryApp(parse_store(store_url).env)
    yield opened
    opened.close()


@pytest.fixture
def projections(app, store_url):
    opened = Projections(app, store_url)
    yield opened
    opened.close()


def dump(p: Projections) -> dict[str, list]:
    """Every row of every read-model table, in a canonical order."""
    def cell(v):
        return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v

    with p.engine.connect() as conn:
        return {t.name: sorted((tuple(cell(v) for v in row) for row in conn.execute(select(t))), key=repr)
                for t in metadata.sorted_tables}


def head(app: BackstoryApp) -> int:
    return app.recorder.max_notification_id() or 0


# ----- the read models answer like the aggregates ----------------------------------------------


def _moments(rng: random.Random, ledger, count: int) -> list[datetime]:
    """Random instants, and the exact valid and recorded times of decisions (and just around them)."""
    events = ledger.decisions()
    exact = [e.occurred_at for e in events] + [e.timestamp for e in events]
    picks = [rng.choice(exact) + timedelta(microseconds=rng.choice((-1, 0, 1))) for _ in range(count // 2)]
    span = (NOW - START).total_seconds() + 40 * 86400
    picks += [START - timedelta(days=40) + timedelta(seconds=rng.uniform(0, span)) for _ in range(count // 2)]
    return picks + [FAR_FUTURE, START - timedelta(days=400)]


def check_program(p: Projections, ledger, rng: random.Random, count: int = 120) -> None:
    pid = ledger.program_id
    moments = _moments(rng, ledger, count)
    zones = [ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York")]
    for as_of in moments:
        known_at = rng.choice([None, rng.choice(moments)])
        as_of = as_of.astimezone(rng.choice(zones))
        assert p.program(pid, as_of, known_at) == queries.show(ledger, as_of, known_at), (as_of, known_at)
    near = moments[:-2]  # the in-process recap reads every month of its range: keep ranges short
    for _ in range(count // 4):
        since, until = sorted(rng.sample(near, 2))
        zone = rng.choice(ZONES)
        assert p.recap(pid, since, until, zone) == queries.recap(ledger, since, until, zone), (since, until)
        assert p.history(pid, None, since, until) == queries.history(ledger, None, since, until)
        expected = [{k: f.get(k) for k in SESSION_FIELDS} for f in facts_between(ledger, since, until)
                    if f["type"] == "log"]
        got = p.sessions(pid, since, until)["sessions"]
        assert [{k: s[k] for k in SESSION_FIELDS} for s in got] == expected
        # each session's light is the one the CLI gives it (service.insights.lights, under the same rule)
        judged = {s["id"]: s for s in judged_sessions(ledger_record(ledger), since, until)}
        lit = ("light", "light_reasons", "next_day", "policy")
        assert [{k: s[k] for k in lit} for s in got if not s["voided"]] == [
            {k: judged[s["id"]][k] for k in lit} for s in got if not s["voided"]]
    for ex in ledger.program().view().exercises.values():
        for name in (ex.name, ex.id[:8]):
            assert p.history(pid, name, None, None) == queries.history(ledger, name)
    assert p.history(pid, None, None, None) == queries.history(ledger)
    assert p.signature(pid) == queries.signature(ledger)
    log = ledger.conflict_log()
    assert p.conflicts(pid) == (list(log.conflicts.values()) if log else [])


def test_read_models_equal_the_in_process_queries(app, projections):
    a, b = build_store(app)
    assert projections.catch_up() == head(app)
    rng = random.Random(5)
    for world in (a, b):
        assert a.conflicts or b.conflicts, "the scenario should produce conflicts"
        check_program(projections, world.ledger, rng)
        devices = [{k: v for k, v in d.items() if k not in ("current", "paired_by", "revoked_by")}  # the feed has those
                   for d in list_devices(app, world.who)]
        assert projections.devices(world.who.account_id) == devices
    check_program(projections, app.ledger(program_id_for("local")), rng)
    assert projections.signature(program_id_for("local"))["exercises"], "the demo promotes an exercise"
    # the backfilled start: the earliest "started", in the read models as in the aggregate
    program = b.ledger.program()
    assert program.started_at() == START - timedelta(days=50)
    with projections.engine.connect() as conn:
        row = conn.execute(select(programs).where(programs.c.program_id == b.program_id)).mappings().one()
        assert row["started"] == program.view().started
        for as_of in _moments(rng, b.ledger, 40):
            known_at = rng.choice([None, as_of, START])
            assert view_at(conn, b.program_id, as_of, known_at) == program.view(as_of, known_at), (as_of, known_at)


def test_pain_by_day_and_tension(app, projections):
    a, _ = build_store(app, steps=60)
    projections.catch_up()
    pid = a.program_id
    zone = ZoneInfo(a.zone)
    facts = [f for f in facts_between(a.ledger, START - timedelta(days=60), NOW + timedelta(days=1))
             if not f["voided"]]
    days = {datetime.fromisoformat(f["occurred_at"]).astimezone(zone).date().isoformat() for f in facts}
    rows = projections.pain_by_day(pid)
    assert [r["day"] for r in rows] == sorted(days)
    for row in rows:
        mine = [f for f in facts if datetime.fromisoformat(f["occurred_at"]).astimezone(zone).date().isoformat() == row["day"]]
        assert row["sessions"] == sum(1 for f in mine if f["type"] == "log")
        assert row["breaks"] == sum(1 for f in mine if f["type"] == "break")
    with projections.engine.connect() as conn:  # the tension table behind recap's counts
        counted = projected_tension(conn, pid, None, None)
    expected = sum(len(f.get("tension") or []) for f in facts if f["type"] == "log")
    assert sum(t["count"] for t in counted) == expected > 0
    # the tension insight (GET /v1/tension) reads the same observations from the facts
    answer = projections.with_record(pid, tension_insight)
    assert {(m["muscle"], m["side"]): m["count"] for m in answer["muscles"]} == {
        (t["muscle"], t["side"]): t["count"] for t in counted}


def test_missing_program_is_not_found(projections):
    from domain.errors import NotFound

    with pytest.raises(NotFound):
        projections.program(uuid.uuid4(), NOW, None)
    assert projections.conflicts(uuid.uuid4()) == []
    assert projections.feed(uuid.uuid4(), 0, 10) == ([], False)


# ----- exactly once: rebuild, repeat, restart --------------------------------------------------


def test_rebuild_gives_the_incrementally_built_tables(app, projections):
    a = World(app, "sam", seed=3)
    a.run(80, after_step=lambda step: projections.catch_up(limit=7) if step % 3 == 0 else None)
    b = World(app, "alex", seed=4)
    b.run(30, after_step=lambda step: projections.catch_up())
    projections.catch_up()
    incremental = dump(projections)
    assert incremental["proj_timeline"] and incremental["proj_feed"] and incremental["proj_tension"]
    projections.rebuild(["sessions", "feed", "tension"])
    assert dump(projections) == incremental
    projections.rebuild()
    assert dump(projections) == incremental
    assert {s["lag"] for s in projections.status()} == {0}
    with pytest.raises(ValueError):
        projections.rebuild(["nope"])


def test_catch_up_twice_applies_nothing_twice(app, projections):
    build_store(app, steps=30)
    assert projections.catch_up() == head(app)
    before = dump(projections)
    assert projections.catch_up() == 0
    assert dump(projections) == before
    assert [s["position"] for s in projections.status()] == [head(app)] * len(projections.status())


def test_a_restart_resumes_where_it_stopped(app, store_url):
    build_store(app, steps=30)
    first = Projections(app, store_url, batch=10)
    assert first.catch_up(limit=37) == 37
    assert {(s["position"], s["lag"]) for s in first.status()} == {(37, head(app) - 37)}
    database_id = first.database_id()
    first.close()
    second = Projections(app, store_url)
    try:
        assert {s["position"] for s in second.status()} == {37}
        assert second.catch_up() == head(app) - 37
        assert second.database_id() == database_id
        resumed = dump(second)
        second.rebuild()
        assert dump(second) == resumed
        assert second.database_id() == database_id
    finally:
        second.close()


def test_status_reports_lag(app, projections):
    a = World(app, "sam", seed=9)
    a.run(5)
    projections.catch_up()
    behind = head(app)
    a.run(5)
    assert all(s["lag"] == head(app) - behind and s["head"] == head(app) for s in projections.status())
    assert {s["name"] for s in projections.status()} == {
        "feed", "program", "timeline", "decisions", "sessions", "tension", "signature", "conflicts", "devices"}


# ----- the feed ---------------------------------------------------------------------------------


def _all_entries(p: Projections, program_id, page: int) -> list[dict]:
    out, after = [], 0
    while True:
        entries, more = p.feed(program_id, after, page)
        out += entries
        if not more:
            return out
        after = entries[-1]["position"]


def test_feeds_of_two_accounts_never_mix(app, projections):
    a, b = build_store(app, steps=80)  # long enough for the two devices' decisions to conflict
    projections.catch_up()
    owners: dict[str, str] = {}
    for n in app.recorder.select_notifications(1, 100000):
        event = app.mapper.to_domain_event(n)
        if n.topic.startswith(("domain.program:Program.Started",)):
            owners[str(n.originator_id)] = str(n.originator_id)
        elif hasattr(event, "program_id"):  # an account's stream too: its device pairings and revocations
            owners.setdefault(str(n.originator_id), event.program_id)
    programs = {a.program_id: [], b.program_id: [], str(program_id_for("local")): []}
    for n in app.recorder.select_notifications(1, 100000):
        if n.topic == "domain.accounts:Account.Opened":
            continue
        if owners.get(str(n.originator_id)) in programs:
            programs[owners[str(n.originator_id)]].append(n.id)
    for program_id, ids in programs.items():
        entries = _all_entries(projections, program_id, page=17)
        assert [e["position"] for e in entries] == list(range(1, len(entries) + 1))
        assert len(entries) == len(ids) > 0
        assert all(owners[e["data"]["stored"]["originator_id"]] == program_id for e in entries)
        # of the account's streams only who paired and revoked which device; never a Device stream (token hash)
        assert {e["data"]["stored"]["topic"] for e in entries if e["data"]["stored"]["topic"].startswith(
            "domain.accounts")} <= {"domain.accounts:Account.DeviceAdded", "domain.accounts:Account.DeviceRevoked"}
        assert entries == _all_entries(projections, program_id, page=1000)
    kinds = {e["kind"] for e in _all_entries(projections, a.program_id, 100)}
    assert kinds == {"event", "outcome", "conflict", "device"}


def test_feed_entries_round_trip_to_domain_events(app, projections):
    a, _ = build_store(app, steps=40)
    projections.catch_up()
    for program_id in (a.program_id, program_id_for("local")):
        entries = _all_entries(projections, program_id, 50)
        for entry in entries:
            stored = stored_event(entry)
            event = app.mapper.to_domain_event(stored)
            originals = app.recorder.select_events(stored.originator_id, gt=stored.originator_version - 1,
                                                   lte=stored.originator_version)
            assert len(originals) == 1 and app.mapper.to_domain_event(originals[0]) == event
            assert originals[0].state == stored.state and originals[0].topic == stored.topic
            assert entry["type"] == stored.topic.split(":")[1] and entry["recorded_at"] == event.timestamp.isoformat()
            if entry["kind"] == "outcome":
                assert entry["data"]["status"] == event.status and entry["mutation_id"] == event.mutation_id
                assert entry["data"]["result"] == event.result and entry["data"]["seq"] == event.seq
            if entry["type"] == "ConflictLog.Recorded":
                assert entry["data"]["conflict_id"] == event.conflict_id


def test_feed_pages(app, projections):
    a, _ = build_store(app, steps=10)
    projections.catch_up()
    everything, more = projections.feed(a.program_id, 0, 10_000)
    assert not more
    first, more = projections.feed(a.program_id, 0, 5)
    assert more and first == everything[:5]
    last, more = projections.feed(a.program_id, len(everything) - 2, 5)
    assert not more and last == everything[-2:]
    assert projections.feed(a.program_id, len(everything), 5) == ([], False)
