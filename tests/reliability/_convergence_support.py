"""Support for the sync convergence property test: a real server, faulty networks, simulated devices.

``ServerProcess`` is ``python -m cli --db URL serve`` (gunicorn) on a free port;
the test reads and checks the same store through an application of its own.
``SimDevice`` is a device as the CLI runs it: a ``DeviceStore`` on its own
SQLite file (outbox and replica) talking to the server through ``FaultyRemote``,
the CLI's ``HttpRemote`` with the faults of a real network injected at the
HTTP boundary: a device offline, a push sent twice, a reply lost after the
server applied the batch, and a batch split in two whose later half arrives
first. A device's home is copied once it is linked and can be copied again
or restored from its last copy (``restore``): its outbox then hands out seqs
the server already holds from other mutations (issue 9, item 1). ``World`` runs one generated plan and
``check_world`` holds every device, the server and a single reference store to
the same answers.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.errors import DomainError
from domain.prescription import compare, kind_of
from domain.values import BREAK_KINDS, PATTERNS, VERDICTS
from service import queries
from service.accounts import authenticate, create_account, pair_device
from service.application import BackstoryApp, open_app
from service.device import DeviceStore, new_mutation
from service.exchange import export_lines, import_mutations, read_export
from service.handling import DECISIONS
from service.remote import HttpRemote, RemoteError
from tests import server_process

FACTS = ("log", "next-day", "break", "checkin", "flare-start", "flare-end")
FAULTS = ("none", "dup", "drop_push", "drop_pull", "reorder", "replay_old")


class ServerProcess(server_process.ServerProcess):
    """``backstory serve`` in a subprocess on one store, rate limits off (the devices are the load)."""

    def __init__(self, url: str, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        port = server_process.free_port()
        env = server_process.server_env(home, {"BACKSTORY_RATE_LIMIT": "0"})
        super().__init__(server_process.serve_command(url, port), port, env, home / "server.log")


STATS: Counter = Counter()
API_EVERY = 2


class FaultyRemote(HttpRemote):
    """The CLI's HTTP client with network faults; protocol answers are checked as they come."""

    def __init__(self, url: str, token: str, server: BackstoryApp, device_id: UUID):
        super().__init__(url, token, timeout=120)
        self.server, self.device_id = server, device_id
        self.offline = False
        self.fault = "none"
        self.sent: list[tuple[list[dict], dict]] = []  # batches the server answered 200, with the answer

    def request(self, method, path, body=None, query=None):
        if self.offline:
            STATS["offline_attempts"] += 1
            raise RemoteError(f"cannot reach {self.url}: offline")
        STATS["requests"] += 1
        status, payload = super().request(method, path, body, query)
        assert status < 500, f"{method} {path} answered {status}: {payload}"
        return status, payload

    def _push(self, mutations: list[dict]) -> tuple[int, dict]:
        status, body = super().push(mutations)
        if status == 200:
            self.sent.append((mutations, body))
        if status == 409 and body.get("reused"):
            STATS["seqs_reused_409"] += 1
        return status, body

    def _replay_old(self) -> None:
        """A copy of an earlier batch, delayed in the network, arrives now: all duplicates, the original results."""
        old, answer = self.sent[len(self.sent) // 2]
        status, body = super().push(old)
        assert status == 200, body
        for first, again in zip(answer["results"], body["results"], strict=True):
            original = first.get("original_status", first["status"])
            assert again["status"] == "duplicate" and again["original_status"] == original, (first, again)
            assert again["result"] == first["result"], (first, again)
        STATS["late_copies"] += 1

    def _server_expects(self) -> int:
        return self.server.find(self.device_id).last_seq + 1

    def push(self, mutations):
        fault, self.fault = self.fault, "none"  # one fault per sync, on its first push
        if fault == "replay_old" and self.sent:
            self._replay_old()
        if fault == "reorder" and len(mutations) >= 2:
            return self._reordered(mutations)
        status, body = self._push(mutations)
        if fault == "dup" and status == 200:
            again_status, again = self._push(mutations)
            assert again_status == 200, again
            for first, second in zip(body["results"], again["results"], strict=True):
                original = first.get("original_status", first["status"])
                assert second["status"] == "duplicate" and second["original_status"] == original, (first, second)
            assert again["last_seq"] == body["last_seq"]
            STATS["duplicated_pushes"] += 1
            return again_status, again
        if fault == "drop_push":
            STATS["dropped_push_replies"] += 1
            raise RemoteError("the reply was lost after the server applied the batch")
        return status, body

    def _reordered(self, mutations: list[dict]) -> tuple[int, dict]:
        """Split the batch in two and deliver the later half first, as a pipelining client's network might."""
        half = len(mutations) // 2
        head, tail = mutations[:half], mutations[half:]
        expected = self._server_expects()
        status, body = self._push(tail)
        if tail[0]["seq"] > expected:
            assert status == 409 and body.get("expected_seq") == expected, (status, body, expected)
            assert self._server_expects() == expected, "a refused batch changed the device's seq"
            STATS["reordered_409"] += 1
            head_status, head_body = self._push(head)
            if self._reused(head_status, head_body):
                return head_status, head_body
            assert head_status == 200, head_body
            status, body = self._push(tail)
            assert status == 200, body
            return 200, {"results": head_body["results"] + body["results"], "last_seq": body["last_seq"]}
        head_status, head_body = self._push(head)  # the head was applied before: all duplicates
        if self._reused(head_status, head_body):
            return head_status, head_body
        assert head_status == 200 and status == 200, (head_body, body)
        return 200, {"results": head_body["results"] + body["results"], "last_seq": max(head_body["last_seq"], body["last_seq"])}

    @staticmethod
    def _reused(status: int, body: dict) -> bool:
        """A restored home's head reuses seqs the server holds: the device gets that 409 and re-numbers."""
        if status == 409 and body.get("reused"):
            STATS["reordered_reused"] += 1
            return True
        return False

    def pull(self, after, limit=1000):
        fault = self.fault if self.fault == "drop_pull" else None
        page = super().pull(after, limit)
        if fault:
            self.fault = "none"
            STATS["dropped_pull_replies"] += 1
            raise RemoteError("the pull reply was lost")
        return page


@dataclass
class SimDevice:
    """One device: its own store, its client, and what it made (accepted locally)."""

    name: str
    store: DeviceStore
    remote: FaultyRemote
    path: Path
    offline_until: int = -1
    made: dict[str, str] = field(default_factory=dict)  # mutation_id -> type
    copy: set[str] | None = None  # the mutations made when the home was last copied

    def reader(self):
        return self.store.reader()

    def sync(self, fault: str = "none") -> bool:
        self.remote.fault = fault
        try:
            self.store.sync(self.remote)
        except RemoteError:
            return False
        finally:
            self.remote.fault = "none"
        return True

    def mutate(self, mutation_type: str, args: dict, at: datetime) -> bool:
        m = new_mutation(mutation_type, {k: v for k, v in args.items() if v is not None}, at, self.store.device_id)
        try:
            self.store.mutate(m)
        except DomainError:
            STATS["refused_locally"] += 1
            return False
        self.made[m.mutation_id] = mutation_type
        STATS[f"made_{'fact' if mutation_type in FACTS else 'decision'}"] += 1
        return True


    def copy_home(self) -> None:
        """Copy this home (its store) aside, as a person's backup."""
        _sqlite_copy(self.path, self.path.with_suffix(".copy"))
        self.copy = set(self.made)
        STATS["home_copies"] += 1

    def restore_home(self, server_holds: set[str]) -> None:
        """Put the copy back, as a person restoring a backup (their outbox hands out seqs the server holds).

        What the device made after the copy and the server never received is gone
        with the restore, as it is for the person; everything else must survive.
        """
        assert self.copy is not None
        self.store.app.close()
        _sqlite_copy(self.path.with_suffix(".copy"), self.path)
        self.store = DeviceStore(open_app(f"sqlite:///{self.path}"), self.store.device_id)
        for mid in [m for m in self.made if m not in self.copy and m not in server_holds]:
            del self.made[mid]
            STATS["lost_with_the_restore"] += 1
        STATS["restores"] += 1


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (its WAL included), through SQLite's own backup."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@dataclass(frozen=True)
class Step:
    """One step of a plan: which device does what; ``pick`` and ``value`` choose among what it sees."""

    device: int
    op: str
    pick: int = 0
    value: int = 0
    back_hours: int = 0


class World:
    """One account with 2 to 4 devices on a running server, driven by a plan of steps."""

    def __init__(self, server: ServerProcess, server_app: BackstoryApp, workdir: Path, devices: int):
        self.server, self.server_app, self.workdir = server, server_app, workdir
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.base = self.now - timedelta(days=20)
        first = create_account(server_app, "sim")
        who = authenticate(server_app, f"Bearer {first['token']}")
        self.program_id = who.program_id
        tokens = [first["token"]] + [pair_device(server_app, who, f"device {i}")["token"] for i in range(1, devices)]
        self.devices = [self._device(i, t) for i, t in enumerate(tokens)]
        lead = self.devices[0]
        assert lead.mutate("init", {"name": "Sim", "timezone": "Europe/Paris"}, self.base - timedelta(days=2))
        assert lead.mutate("add", {"name": "Bridge", "position": "1:supine", "sets": 3, "reps": 10},
                           self.base - timedelta(days=1))
        for d in self.devices:
            assert d.sync(), f"{d.name} could not link"
            d.copy_home()

    def _device(self, i: int, token: str) -> SimDevice:
        path = self.workdir / f"device{i}.sqlite"
        app = open_app(f"sqlite:///{path}")
        device_id = UUID(hex=token.split("_")[1])
        return SimDevice(f"device {i}", DeviceStore(app, str(device_id)),
                         FaultyRemote(self.server.url, token, self.server_app, device_id), path)

    def close(self) -> None:
        for d in self.devices:
            d.store.app.close()

    # ----- running a plan --------------------------------------------------------------------

    def run(self, steps: list[Step]) -> None:
        for i, step in enumerate(steps):
            device = self.devices[step.device % len(self.devices)]
            device.remote.offline = i < device.offline_until
            at = self.base + timedelta(hours=8 * i + 1) - timedelta(hours=step.back_hours)
            if step.op == "offline":
                device.offline_until = i + 1 + step.value % 8
                STATS["offline_periods"] += 1
            elif step.op.startswith("sync:"):
                device.sync(step.op.split(":", 1)[1])
                STATS["syncs"] += 1
            elif step.op == "restore":  # an odd value restores the home's last copy, an even one takes a new copy
                if step.value % 2:
                    device.restore_home({r.mutation_id for r in server_records(self)})
                else:
                    device.copy_home()
            else:
                made = make(device, step, at, i)
                if made is not None:
                    device.mutate(*made, at)

    def settle(self, rounds: int = 6) -> None:
        """Everyone online syncs until a whole round pulls nothing and nothing is pending."""
        for d in self.devices:
            d.remote.offline = False
        for _ in range(rounds):
            pulled = 0
            for d in self.devices:
                before = d.store.outbox().cursor
                assert d.sync(), f"{d.name} could not sync while settling"
                pulled += d.store.outbox().cursor != before
            if not pulled and all(not d.store.outbox().pending() for d in self.devices):
                return
        raise AssertionError("the devices did not settle")


# ----- what a step asks for, given what the device sees ----------------------------------------


def _candidates(view, op: str) -> list:
    wants = {
        "progress": ("active", "paused"), "regress": ("active", "paused"), "adapt": ("active", "paused"),
        "pause": ("active",), "resume": ("paused",), "retire": ("active", "paused", "deconstructed"),
        "deconstruct": ("active", "paused"), "promote": ("active", "paused"), "rebuild": ("deconstructed",),
        "demote": ("active", "paused", "deconstructed"),
    }.get(op)
    exercises = list(view.exercises.values())
    if wants is None:
        return exercises
    found = [e for e in exercises if e.status in wants]
    if op in ("promote", "demote"):
        return [e for e in found if e.signature == (op == "demote")]
    return found


def _rx_move(ex, op: str, value: int) -> dict | None:
    rx = ex.prescription
    sign = 1 if op == "progress" else -1
    options = [("sets", rx["sets"] + sign)]
    if rx["reps"] is not None:
        options.append(("reps", rx["reps"] + 2 * sign))
    options.append(("position", f"{rx['position']['stage'] + sign}:supine"))
    dim, new = options[value % len(options)]
    if dim == "position":
        return {"position": new} if 1 <= rx["position"]["stage"] + sign <= 4 else None
    return {dim: new} if 1 <= new <= 20 else None


def make(device: SimDevice, step: Step, at: datetime, index: int) -> tuple[str, dict] | None:
    """The mutation a step makes on this device, or None when the device sees nothing to do it to."""
    program = device.reader().program()
    view = program.view()
    op, value = step.op, step.value
    if op == "break":
        return op, {"kind": BREAK_KINDS[value % len(BREAK_KINDS)], "seconds": 30 + value % 60}
    if op == "checkin":
        return op, {"pain": value % 11, "starts": "low_back", "note": f"checkin {index}"}
    if op in ("flare-start", "flare-end"):
        return op, {"pain": value % 11}
    if op == "add":
        return op, {"name": f"Ex{value % 3}", "position": f"{1 + value % 3}:supine", "sets": 2 + value % 3,
                    "reps": 6 + value % 5}
    if op in ("fitting-open", "fitting-close"):
        return op, {"notes": f"{op} at step {index}"}
    if op == "resolve":
        log = device.reader().conflict_log()
        open_ = [c for c in (log.conflicts.values() if log else []) if c["resolution"] is None]
        if not open_:
            return None
        choice = "apply_mine" if value % 2 else "keep_current"
        return op, {"conflict": open_[step.pick % len(open_)]["id"], choice: True}
    candidates = _candidates(view, op)
    if not candidates:
        return None
    ex = candidates[step.pick % len(candidates)]
    reason = f"{op} at step {index}"
    if op == "log":
        return op, {"exercise": ex.name, "pain_before": value % 11, "pain_after": (value // 11) % 11,
                    "tension": [f"paraspinals:left:overactive:{value % 10}"] if value % 2 else None,
                    "note": f"session {index}"}
    if op == "next-day":
        return op, {"exercise": ex.name, "verdict": VERDICTS[value % 3], "pain": value % 11}
    if op in ("progress", "regress"):
        move = _rx_move(ex, op, value)
        # forced past the lights' guard, as promote past its evidence: these runs are about concurrency
        forced = {"force": True} if op == "progress" else {}
        return (op, {"exercise": ex.name, **move, "reason": reason, **forced}) if move else None
    if op == "adapt":
        pattern = PATTERNS[value % len(PATTERNS)]
        if (ex.prescription.get("direction") or {}).get("pattern") == pattern:
            pattern = PATTERNS[(value + 1) % len(PATTERNS)]
        return op, {"exercise": ex.name, "direction": pattern, "reason": reason}
    if op == "deconstruct":
        return op, {"exercise": ex.name, "into": [f"{ex.name} a{index}", f"{ex.name} b{index}"], "reason": reason}
    if op == "promote":
        return op, {"exercise": ex.name, "force": True, "reason": reason}
    return op, {"exercise": ex.name, "reason": reason}  # pause, resume, retire, rebuild, demote


# ----- the checks --------------------------------------------------------------------------------


def show_dates(world: World) -> list[datetime]:
    """Ten dates from before the program's start to now."""
    return [world.base + timedelta(days=d) for d in range(-3, 22, 3)] + [world.now]


def answers(reader, world: World, known_at: datetime | None, every: int = 1) -> dict[str, Any]:
    """show (at several dates, also as known at a past recorded time), history, recap and signature."""
    program = reader.program()
    tz = ZoneInfo(program.view().timezone)
    dates = show_dates(world)[::-1][::every]
    out: dict[str, Any] = {
        "show": [queries.show(reader, d) for d in dates],
        "history": queries.history(reader),
        "recap": queries.recap(reader, world.base - timedelta(days=3), world.now, tz),
        "signature": queries.signature(reader),
    }
    if known_at is not None:
        out["show_known"] = [queries.show(reader, d, known_at) for d in dates]
    return out


def api_answers(remote: HttpRemote, world: World, known_at: datetime | None) -> dict[str, Any]:
    """The same questions asked of the server's read API (its projections), with one device's token."""
    def get(path: str, **query: Any) -> Any:
        return remote.expect(*remote.request("GET", path, query={k: v.isoformat() for k, v in query.items()}), 200)

    def every_page(path: str) -> Any:
        """A paged list followed to its end, as one answer without the paging fields."""
        first = get(path)
        page = first
        while page.pop("has_more"):
            page = remote.expect(*remote.request("GET", path, query={"after": page.pop("next_cursor")}), 200)
            first["entries"] += page["entries"]
        first.pop("next_cursor", None)
        return first

    dates = show_dates(world)[::-1][::API_EVERY]  # a request each: every other date, now included
    out = {
        "show": [get("/v1/program", as_of=d) for d in dates],
        "history": every_page("/v1/history"),
        "recap": get("/v1/recap", since=world.base - timedelta(days=3), until=world.now),
        "signature": get("/v1/signature"),
    }
    if known_at is not None:
        out["show_known"] = [get("/v1/program", as_of=d, known_at=known_at) for d in dates]
    return out


def server_records(world: World) -> list:
    return [r for r in world.server_app.ledger(world.program_id).mutation_records()]


def replay_reference(world: World, records: list, workdir: Path) -> BackstoryApp:
    """A fresh single store that makes the server's accepted changes in the server's order.

    That is an export of the server's program imported into an empty store: the
    export holds the applied mutations in feed order, and the import runs each
    through the one command path (``handle``) with its original ids and times.
    """
    app = open_app(f"sqlite:///{workdir / 'reference.sqlite'}")
    ledger = app.ledger(world.program_id)
    rows = read_export(export_lines(world.server_app.ledger(world.program_id), world.now))
    counts = import_mutations(ledger, rows)
    applied = [r for r in records if r.status == "applied"]
    assert counts["refused"] == [] and counts["applied"] == len(applied), counts
    mine = {r.mutation_id: r.result for r in ledger.mutation_records()}
    for r in applied:
        assert mine[r.mutation_id] == r.result, (r.mutation_type, r.args, mine[r.mutation_id], r.result)
    return app


def stored_mutation_ids(app: BackstoryApp, program_id: UUID, records: list) -> Counter:
    """How many stored events of each kind carry each mutation id: (kind, mutation_id) -> count."""
    from domain.conflicts import ConflictLog, conflict_log_id
    from domain.facts import fact_log_id

    # a backfill's move of the start is kept apart: the mutation that caused it is stored as ever besides
    counts: Counter = Counter(("start-moved-back" if e.command == "start-moved-back" else "decision", e.mutation_id)
                              for e in app.ledger(program_id).decisions())
    months = sorted({r.occurred_at.astimezone(timezone.utc).strftime("%Y-%m") for r in records
                     if r.mutation_type in FACTS})
    for month in months:
        for event in app.events.get(fact_log_id(program_id, month)):
            if getattr(event, "mutation_id", None):
                counts[("fact", event.mutation_id)] += 1
    for event in app.events.get(conflict_log_id(program_id)):
        if isinstance(event, (ConflictLog.Recorded, ConflictLog.Resolved)):
            counts[("conflict" if isinstance(event, ConflictLog.Recorded) else "resolved", event.mutation_id)] += 1
    return counts


def _stored_as(r) -> Counter:
    """Where one outcome must be stored, once: nowhere when rejected."""
    if r.status == "conflict":
        return Counter({("conflict", r.mutation_id): 1})
    if r.status != "applied":
        return Counter()
    if r.mutation_type in FACTS:
        return Counter({("fact", r.mutation_id): 1})
    if r.mutation_type == "resolve":
        return Counter({("resolved", r.mutation_id): 1, ("decision", r.mutation_id): int(bool(r.args.get("apply_mine")))})
    return Counter({("decision", r.mutation_id): 1})


def check_outcomes(world: World, records: list) -> None:
    """Every mutation a device made has exactly one outcome; none is dropped, none invented, facts apply."""
    made = {mid: t for d in world.devices for mid, t in d.made.items()}
    by_id = Counter(r.mutation_id for r in records)
    assert all(n == 1 for n in by_id.values()), [m for m, n in by_id.items() if n > 1]
    outcomes = {r.mutation_id: r for r in records}
    setup = {mid for mid in outcomes if mid not in made}
    assert len(setup) == 0, f"outcomes of mutations no device made: {setup}"
    missing = set(made) - set(outcomes)
    assert not missing, f"mutations made but never answered by the server: {[made[m] for m in missing]}"
    log = world.server_app.ledger(world.program_id).conflict_log()
    conflicts = {c["mutation_id"]: c for c in (log.conflicts.values() if log else [])}
    for mid, r in outcomes.items():
        assert r.status in ("applied", "conflict", "rejected"), r.status
        if r.status == "rejected":
            assert r.result["error"]["message"], r.result
        if r.status == "conflict":
            assert mid in conflicts and conflicts[mid]["reason"], r.result
            # a device's own earlier decisions were in its outbox when it decided: never "theirs"
            theirs = {t["device_id"] for t in conflicts[mid]["theirs"]}
            assert theirs - {r.device_id}, f"{r.mutation_type} conflicts only with its own device: {conflicts[mid]}"
        if r.mutation_type in FACTS:
            assert r.status == "applied", f"a {r.mutation_type} fact was {r.status}: {r.result}"
        STATS[f"outcome_{r.status}"] += 1
    stored = stored_mutation_ids(world.server_app, world.program_id, records)
    overridden = overridden_edits(records, conflicts)
    for kind, mid in [k for k in stored if k[0] == "start-moved-back"]:
        assert outcomes[mid].status == "applied" and stored[(kind, mid)] == 1, outcomes[mid]
        STATS["start_moved_back"] += 1
    # the start is the earliest of the program's decisions and the facts applied (issue 11 item 1)
    ledger = world.server_app.ledger(world.program_id)
    facts = [r.occurred_at for r in records if r.mutation_type in FACTS and r.status == "applied"]
    assert ledger.program().started_at() == min([e.occurred_at for e in ledger.decisions()] + facts)
    for mid, r in outcomes.items():
        found = {k: n for k, n in stored.items() if k[1] == mid and k[0] != "start-moved-back"}
        want = {k: n for k, n in (_stored_as(r) + Counter({("conflict", mid): int(mid in overridden)})).items() if n}
        assert found == want, f"{r.mutation_type} {r.status} is stored as {found}, not {want}"
    assert {k[1] for k in stored} <= set(outcomes), "events of mutations that have no outcome"
    for d in world.devices:
        replica = stored_mutation_ids(d.store.app, world.program_id, records)
        assert replica == stored, f"{d.name}'s replica holds other events than the server"
        outbox = d.store.outbox()
        assert not outbox.pending() and outbox.acked_seq == outbox.next_seq - 1, d.name


def check_world(world: World, workdir: Path) -> None:
    """Devices, server and a single reference store give the same answers; every outcome is accounted for."""
    records = server_records(world)
    check_outcomes(world, records)
    check_policy(world, records)
    applied = [r for r in records if r.status == "applied"]
    known_at = applied[len(applied) // 2].timestamp if applied else None
    server = world.server_app.ledger(world.program_id)
    expected = answers(server, world, known_at)
    server_conflicts = _conflicts(server)
    sampled = answers(server, world, known_at, every=API_EVERY)
    assert api_answers(world.devices[0].remote, world, known_at) == sampled, "the read API differs from the store"
    rejected = sorted(r.mutation_id for r in records if r.status == "rejected")
    for d in world.devices:
        reader = d.reader()
        assert answers(reader, world, known_at) == expected, f"{d.name} differs from the server"
        assert _conflicts(reader) == server_conflicts, f"{d.name}'s conflicts differ from the server's"
        assert sorted(x["mutation_id"] for x in d.store.rejected()) == rejected, f"{d.name} lists other rejections"
    reference = replay_reference(world, records, workdir)
    try:
        ref = answers(reference.ledger(world.program_id), world, known_at)
        assert ref == expected, "a single store making the accepted changes in the server's order differs"
    finally:
        reference.close()
    STATS["examples"] += 1
    STATS["decisions_applied"] += sum(1 for r in applied if r.mutation_type in DECISIONS)


def _conflicts(reader) -> list:
    log = reader.conflict_log()
    return sorted(log.conflicts.values(), key=lambda c: c["id"]) if log else []


# ----- the conflict policy, whatever the order of arrival (issue 9, items 4 and 8) --------------

# What a winning decision (applied) wins over among concurrent edits of the same exercise by another device.
WINS_OVER = {"regress": ("progress", "adapt"), "retire": ("progress", "adapt", "regress"),
             "deconstruct": ("progress", "adapt", "regress")}


def overridden_edits(records: list, conflicts: dict) -> set[str]:
    """Applied edits kept as conflicts afterwards: each is named by the winner that overrode it."""
    named = {mid for r in records if r.status == "applied" for mid in r.result.get("overrides", ())}
    applied_conflicts = {mid for mid in conflicts if any(r.mutation_id == mid and r.status == "applied"
                                                         for r in records)}
    assert applied_conflicts == named & applied_conflicts, "an applied edit kept as a conflict no winner names"
    assert named <= applied_conflicts, "a winner names an edit that is not kept as a conflict"
    for mid in named:
        theirs = {t["device_id"] for t in conflicts[mid]["theirs"]}
        assert theirs and conflicts[mid]["device_id"] not in theirs, conflicts[mid]
    STATS["overridden_edits"] += len(named)
    return named


def check_policy(world: World, records: list) -> None:
    """The history holds together, and a winner beats every concurrent edit it wins over, in either order.

    Two decisions of different devices are concurrent when neither device had pulled the other's
    (each one's ``base_version`` is below the other's version). An applied regression, retire or
    deconstruct and a concurrent edit it wins over: the edit must be a kept conflict, whether it
    arrived first (then overridden) or second (then refused as stale). Without this the program
    depended on who synced first (a backdated regression left a later progression in force).
    """
    ledger = world.server_app.ledger(world.program_id)
    events = ledger.decisions()
    _check_history(events)
    version = {e.mutation_id: e.originator_version for e in events}
    log = ledger.conflict_log()
    kept = {c["mutation_id"] for c in log.conflicts.values()} if log else set()
    decided = [r for r in records if r.mutation_id in version and r.base_version is not None
               and r.mutation_type in ("progress", "adapt", "regress", "retire", "deconstruct")]
    for w in decided:
        for e in decided:
            if (e.mutation_type in WINS_OVER.get(w.mutation_type, ()) and e.device_id != w.device_id
                    and e.result.get("exercise_id") == w.result.get("exercise_id")
                    and w.base_version < version[e.mutation_id] and e.base_version < version[w.mutation_id]):
                STATS[f"concurrent_{w.mutation_type}_vs_{e.mutation_type}"] += 1
                assert e.mutation_id in kept, (
                    f"a {e.mutation_type} concurrent with an applied {w.mutation_type} of the same exercise "
                    f"is in force, not kept as a conflict: {e.args} against {w.args}")


def _check_history(events: list) -> None:
    """In valid-time order every decision meets the status it needs: nothing after a retire, no pause twice.

    And every change of a prescription is, from the prescription in force before it in valid
    time, what it says it is: a progression raises, a regression lowers, an adaptation is neither
    (a backdated regression before a later one turned that one into a raise, issue 9 item 8).
    """
    status: dict[str, str] = {}
    signature: dict[str, bool] = {}
    rx: dict[str, dict] = {}
    for e in sorted(events, key=lambda e: (e.occurred_at, e.originator_version)):
        where = f"{e.command} at {e.occurred_at.isoformat()} (v{e.originator_version})"
        ex = getattr(e, "exercise_id", None)
        if e.command == "add":
            status[ex], signature[ex], rx[ex] = "active", False, dict(e.prescription)
        elif e.command in ("pause", "resume", "retire", "rebuild", "deconstruct"):
            assert e.from_status == status[ex], f"{where} changes {e.from_status}, but it was {status[ex]}"
            status[ex] = getattr(e, "to_status", "deconstructed")
            rx[ex].update({d: c["to"] for d, c in (getattr(e, "restored", None) or {}).items()})
            for c in getattr(e, "components", []):
                if c["new"]:
                    status[c["id"]], signature[c["id"]], rx[c["id"]] = "active", False, dict(c["prescription"])
        elif e.command in ("progress", "regress", "adapt", "promote"):
            assert status[ex] in ("active", "paused"), f"{where} of a {status[ex]} exercise"
        if e.command in ("progress", "regress", "adapt"):
            before, after = rx[ex], {**rx[ex], **{d: c["to"] for d, c in e.changes.items()}}
            moved = compare(before, after)
            # a winning regression gives back what it overrode, an adaptation among it (unordered)
            fits = (not moved.raised and bool(moved.changed)) if e.command == "regress" else \
                kind_of(before, after) == e.command
            assert fits, f"{where} is a {kind_of(before, after)} from the prescription in force: {e.changes}"
            rx[ex] = after
        if e.command in ("promote", "demote"):
            assert signature[ex] == (e.command == "demote"), f"{where}: signature was already {signature[ex]}"
            signature[ex] = e.command == "promote"
