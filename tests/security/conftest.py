"""Fixtures of the security tests: one real server per backend for the whole package, and a victim account.

``server`` is ``backstory serve`` on a fresh store (a SQLite file, or a
PostgreSQL schema of its own), started once per backend and shared by every
test here; tests make their own accounts, so they do not see each other.
Its rate limit and an account's pairing caps are raised so the many refused
requests of the auth tests and the many pairings are not answered 429
(``test_ratelimit`` runs a server of its own with a low rate and the default caps).
``victim`` is an account with a program, exercises, facts with notes, a
conflict and a second device: what an attacker must never reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.conftest import BACKENDS, PG_URL, _pg_drop, _pg_schema
from tests.security._support import Device, Server, call

HIGH_RATE = {"BACKSTORY_RATE_LIMIT": "100000", "BACKSTORY_RATE_BURST": "100000",
             "BACKSTORY_PAIRINGS_PER_HOUR": "1000", "BACKSTORY_MAX_ACTIVE_DEVICES": "1000"}


def fresh_store(backend: str, tmp_path) -> tuple[str, str | None]:
    """A URL of an empty store on ``backend``, and its PostgreSQL schema (to drop) if any."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}", None
    schema = _pg_schema()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}schema={schema}", schema


@pytest.fixture(scope="session", params=BACKENDS)
def server(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"security-{request.param}")
    url, schema = fresh_store(request.param, tmp)
    started = Server(url, tmp, env=HIGH_RATE)
    yield started
    started.stop()
    if schema:
        _pg_drop(schema)


@pytest.fixture(scope="session")
def spec(server) -> dict:
    reply = call(server.url, "GET", "/openapi.json")
    assert reply.status == 200, reply
    return reply.json()


@dataclass
class Victim:
    """An account with data of every kind, and every text and id of it that must never leak."""

    phone: Device
    tablet: Device
    revoked: Device
    exercise_ids: list[str]
    conflict_ids: list[str]
    fact_ids: list[str]
    mutation_ids: list[str]
    cursor: str
    words: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        from service.application import program_id_for

        return [self.phone.account_id, str(program_id_for(self.phone.account_id)), self.phone.device_id, self.tablet.device_id, self.revoked.device_id,
                *self.exercise_ids, *self.conflict_ids, *self.fact_ids, *self.mutation_ids]

    @property
    def secrets(self) -> list[str]:
        """What no other account may ever see: names, notes, ids, tokens."""
        return [*self.words, *self.ids, self.phone.token, self.tablet.token, self.revoked.token]


WORDS = ["Vivienne Quayle", "Qzx Secret Squat", "Wobbly Heron Pose", "qzx-victim-note", "victim phone qzx",
         "qzx flare note", "qzxcheckin", "qzxpsfs", "qzx lift my child"]


def build_victim(server: Server) -> Victim:
    phone = Device.new_account(server, WORDS[0])
    name, squat, heron, note, phone_name, flare_note, checkin_note, activity, activity_name = WORDS
    results = phone.push_ok(phone.m("init", 30, name=name, timezone="Europe/Paris"),
                            phone.m("add", 29, name=squat, position="1:supine", sets=3, reps=10, reason=note),
                            phone.m("add", 29, name=heron, position="2:quadruped", sets=2, reps=6),
                            phone.m("fitting-open", 25, notes=note),  # so GET /v1/fittings/report has one
                            phone.m("log", 20, exercise=squat, pain_before=6, pain_after=2,
                                    tension=["paraspinals:left:overactive:7"], note=note),
                            phone.m("checkin", 3, pain=7, starts="low_back", note=checkin_note),
                            phone.m("flare-start", 2, pain=8, note=flare_note),
                            # an assessment, so GET /v1/outcomes and /v1/export/fhir have the victim's own words
                            phone.m("assess", 2, instrument="psfs", activity=[f"{activity}=3", "sit=4", "walk=5"],
                                    activity_name=[f"{activity}={activity_name}"]))
    assert {r["status"] for r in results} == {"applied"}, results
    tablet = phone.pair(phone_name)
    version = phone.get("/v1/program").json()["version"]
    first = phone.push_ok(phone.m("progress", 1, base_version=version, exercise=squat, sets=4, reason=note,
                                  force=True))  # its one session awaits its next day: past the lights' guard
    stale = tablet.push_ok(tablet.m("progress", 1, base_version=version, exercise=squat, sets=5, reason=note))
    assert [r["status"] for r in first + stale] == ["applied", "conflict"], (first, stale)
    revoked = phone.pair("victim old tablet qzx")
    assert phone.call("DELETE", f"/v1/devices/{revoked.device_id}").status == 200
    program = phone.get("/v1/program").json()
    conflicts = phone.get("/v1/conflicts").json()["conflicts"]
    sessions = phone.get("/v1/sessions").json()["sessions"]
    entries, cursor = phone.pull_all()
    assert conflicts and sessions and entries
    return Victim(phone, tablet, revoked, [e["id"] for e in program["exercises"]], [c["id"] for c in conflicts],
                  [s["id"] for s in sessions], [m["mutation_id"] for m in phone.sent + tablet.sent], cursor, list(WORDS))


@pytest.fixture(scope="session")
def victim(server) -> Victim:
    return build_victim(server)


@pytest.fixture
def attacker(server) -> Device:
    """Another account, with a program of its own."""
    device = Device.new_account(server, "mallory")
    results = device.push_ok(device.m("init", 5, name="Mallory"),
                             device.m("add", 4, name="Plain plank", position="1:prone", sets=2, reps=5))
    assert {r["status"] for r in results} == {"applied"}, results
    return device
