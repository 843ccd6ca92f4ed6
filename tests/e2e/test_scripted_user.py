"""A scripted user builds three months of backdated history, then audits it.

The history is built once per backend (``world``), in two phases separated by
a noted moment ``T1``: phase B holds a decision backdated before decisions of
phase A, so valid time (``--as-of``) and recorded time (``--known-at``) can be
told apart. Each test then checks one way of reading the record against what
the user did, with the expected values written out by hand.

Day numbers are "days before today" (UTC): ``day(94)`` is the ISO date 94 days
ago, and a bare ISO date given to ``--at`` means noon that day.
"""

from __future__ import annotations

import time
from datetime import datetime, time as dtime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import ago, day, today, when

UTC = timezone.utc


def rx(stage, posture, *, sets, reps=None, hold=None, per_side=False, load=("bodyweight", None, None),
       direction=(None, None)):
    """The prescription keys the issue requires, as ``show --json`` must print them."""
    return {
        "position": {"stage": stage, "posture": posture},
        "load": {"type": load[0], "magnitude": load[1], "unit": load[2]},
        "direction": {"pattern": direction[0], "plane": direction[1]},
        "sets": sets, "reps": reps, "hold_s": hold, "per_side": per_side,
    }


BD_RX = rx(2, "quadruped", sets=3, reps=8, per_side=True)
DB_RX = rx(1, "supine", sets=3, reps=10)
GB_RX = rx(1, "supine", sets=3, reps=12)
SP_RX = rx(1, "side-lying", sets=3, hold=20, per_side=True)
PP_RX = rx(3, "standing", sets=3, reps=10, load=("elastic", 2, "band"), direction=("anti_rotation", "transverse"))


def with_(base: dict, **changes) -> dict:
    return {**base, **changes}


def at_end_of(day_iso: str, zone=UTC) -> datetime:
    d = datetime.fromisoformat(day_iso).date()
    return datetime.combine(d, dtime.max, zone)


# Sessions: (days ago, how the exercise is named, pain before, during, after, tension, form of --at).
# "iso" is a bare ISO date (noon), "dt" an ISO datetime at 07:30 UTC, "ago" the words "N days ago".
# BD_ID / KNEES_ID stand for an id prefix, filled in once the ids are known.
PHASE_A_SESSIONS = [
    (85, "glute bridge", 6, 5, 5, ["paraspinals:left:overactive:6", "hip_flexors"], "iso"),
    (84, "Glute Bridge", 6, 4, 5, ["paraspinals:left:overactive:5"], "dt"),
    (65, "side plank", 4, 4, 5, ["quadratus_lumborum:right:guarding:5"], "iso"),
    (62, "Dead bug", 5, 4, 4, [], "ago"),
    (58, "Bird dog", 4, 3, 2, ["paraspinals:left:overactive:4"], "iso"),
    (56, "bird dog", 4, 2, 3, [], "dt"),
]
PHASE_A_SESSIONS_AFTER_REFUSAL = [
    (55, "Side plank on knees", 3, 2, 2, ["quadratus_lumborum:right:guarding:3"], "iso"),
    (53, "side-lying LEG lift", None, 1, 2, ["glutes:left:underactive:3"], "iso"),
    (52, "BD_ID", 5, 3, 3, ["paraspinals:left:overactive:3", "glutes:left:underactive:2"], "ago"),
    (50, "BIRD DOG", 4, 2, 2, [], "iso"),
    (49, "Bird dog", 3, 2, 3, ["paraspinals:right:overactive:2"], "dt"),
    (47, "Bird dog", 4, 3, 2, [], "ago"),
    (45, "DEAD BUG", 3, 2, 2, ["hip_flexors:both:overactive:4"], "ago"),
    (37, "Pallof press", 4, 3, 3, ["upper_trapezius:both:overactive:2"], "iso"),
]
PHASE_B_SESSIONS = [
    (25, "Bird dog", 3, 1, 1, ["paraspinals:left:overactive:2"], "ago"),
    (20, "Dead bug", 2, 1, 1, [], "iso"),
    (18, "glute bridge", 3, 2, 2, ["hip_flexors"], "ago"),
    (12, "BD_ID", 2, 1, 1, [], "ago"),
    (10, "Glute bridge", 3, 2, 1, ["glutes:right:underactive:4"], "dt"),
    (8, "KNEES_ID", 2, 1, 1, [], "iso"),
]
CANONICAL = {"glute bridge": "Glute bridge", "side plank": "Side plank", "dead bug": "Dead bug",
             "bird dog": "Bird dog", "side plank on knees": "Side plank on knees",
             "side-lying leg lift": "Side-lying leg lift", "pallof press": "Pallof press",
             "bd_id": "Bird dog", "knees_id": "Side plank on knees"}

# Micro-breaks: (days ago, --at text or form, kind, seconds).
BREAKS = [
    (61, "T23:59:00+00:00", "walk", 60),
    (60, "iso", "walk", 60),
    (59, "T09:00:00+00:00", "stand", 45),
    (59, "T15:00:00+00:00", "extend", 30),
    (50, "iso", "rotate", 40),
    (44, "T23:59:59+00:00", "reset", 30),
    (25, "ago", "walk", 60),
    (12, "ago", "stand", 45),
    (12, "T16:00:00+00:00", "extend", 45),
    (5, "iso", "stand", 45),
]


def at_text(n: int, form: str) -> str:
    if form == "iso":
        return day(n)
    if form == "dt":
        return f"{day(n)}T07:30:00+00:00"
    if form == "ago":
        return ago(n)
    return day(n) + form


class World:
    """What the scripted user did, and what the product answered along the way."""

    def __init__(self, cli):
        self.cli = cli
        self.ids: dict[str, str] = {}
        self.sessions: list[tuple] = []
        self.breaks: list[int] = []
        self.refused_promotion = None
        self.promotion = None
        self.failures: list[str] = []
        self.t0 = self.t1 = self.t2 = None

    def do(self, *args):
        """Run one command of the script; a failure is noted (and checked by a test), not raised here."""
        r = self.cli(*args)
        if r.code != 0:
            self.failures.append(f"backstory {' '.join(args)} -> exit {r.code}: {r.err.strip().splitlines()[-1:]}")
        return r

    def ref(self, name: str) -> str:
        if name == "BD_ID":
            return self.ids["Bird dog"][:8]
        if name == "KNEES_ID":
            return self.ids["Side plank on knees"][:10]
        return name

    def log(self, n, name, pb, pd, pa, tension, form):
        args = ["log", self.ref(name), "--sets", "3", "--pain-during", str(pd), "--pain-after", str(pa),
                "--effort", "4", "--at", at_text(n, form)]
        if pb is not None:
            args += ["--pain-before", str(pb)]
        for t in tension:
            args += ["--tension", t]
        self.do(*args)
        self.sessions.append((n, CANONICAL[name.lower()], pb, pa, tension))

    def add(self, *args):
        r = self.do("add", *args, "--json")
        if r.code == 0:
            self.ids[r.json()["result"]["exercise"]] = r.json()["result"]["exercise_id"]

    def show(self, *args) -> dict:
        return self.cli.ok("show", *args, "--json").json()


@pytest.fixture(scope="module")
def world(module_cli):
    c = module_cli
    w = World(c)
    w.t0 = datetime.now(UTC)
    time.sleep(0.01)

    # ----- phase A ----------------------------------------------------------------------------
    w.do("init", "--name", "Alex", "--timezone", "UTC", "--at", day(95))
    w.do("fitting", "open", "--notes", "first fitting", "--at", day(94))
    w.add("Bird dog", "--position", "kneeling:quadruped", "--sets", "3", "--reps", "8", "--per-side",
          "--target", "multifidus", "--protect", "paraspinals", "--kind", "segmental_control", "--at", day(94))
    w.add("Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "10", "--target", "deep_abdominals",
          "--at", day(94))
    w.add("Glute bridge", "--position", "lying:supine", "--sets", "3", "--reps", "12", "--target", "glutes",
          "--protect", "hamstrings", "--at", day(94))
    w.add("Side plank", "--position", "1:side-lying", "--sets", "3", "--hold", "20", "--per-side", "--at", day(94))
    w.add("Pallof press", "--position", "supported:standing", "--load", "elastic:2:band",
          "--direction", "anti_rotation:transverse", "--sets", "3", "--reps", "10",
          "--reason", "add anti-rotation work", "--at", ago(93))

    w.do("flare", "start", "--pain", "7", "--note", "bent to pick up a box", "--at", day(88))
    w.do("checkin", "--pain", "7", "--starts", "low_back", "--travels", "left_buttock", "--travels", "left_thigh",
         "--at", f"{day(88)}T18:00:00+00:00")
    w.do("regress", "glute BRIDGE", "--sets", "2", "--reason", "flare: fewer sets", "--reason-code", "flare",
         "--at", day(87))
    w.do("regress", "Pallof press", "--load", "elastic:1:band", "--reason", "lighter band during the flare",
         "--at", day(86))
    for s in PHASE_A_SESSIONS[:2]:
        w.log(*s)
    w.do("next-day", "Glute bridge", "--verdict", "worse", "--pain", "6", "--at", day(83))
    w.do("flare", "end", "--pain", "3", "--at", day(80))
    w.do("checkin", "--pain", "3", "--starts", "low_back", "--at", ago(80))
    w.do("progress", "dead bug", "--reps", "12", "--reason", "10 reps felt easy", "--reason-code", "too_easy",
         "--at", day(70))
    for s in PHASE_A_SESSIONS[2:4]:
        w.log(*s)
    r = w.do("deconstruct", "Side plank", "--into", "Side plank on knees", "--into", "Side-lying leg lift",
             "--reason", "side plank aggravates the right QL", "--reason-code", "pain", "--at", day(60), "--json")
    for comp in r.json()["result"]["components"] if r.code == 0 else []:
        w.ids[comp["name"]] = comp["id"]
    for n, form, kind, seconds in BREAKS[:4]:
        w.do("break", "--kind", kind, "--seconds", str(seconds), "--at", at_text(n, form))
        w.breaks.append(n)
    for s in PHASE_A_SESSIONS[4:]:
        w.log(*s)
    w.do("next-day", "Bird dog", "--verdict", "better", "--pain", "2", "--at", day(57))
    w.refused_promotion = c("promote", "BIRD DOG", "--reason", "feels great", "--at", day(55))
    for s in PHASE_A_SESSIONS_AFTER_REFUSAL[:6]:
        w.log(*s)
    n, form, kind, seconds = BREAKS[4]
    w.do("break", "--kind", kind, "--seconds", str(seconds), "--at", at_text(n, form))
    w.breaks.append(n)
    r = w.do("promote", "Bird dog", "--reason", "calms the back every time", "--reason-code", "evidence",
             "--at", day(44), "--json")
    w.promotion = r.json() if r.code == 0 else None
    for s in PHASE_A_SESSIONS_AFTER_REFUSAL[6:7]:
        w.log(*s)
    n, form, kind, seconds = BREAKS[5]
    w.do("break", "--kind", kind, "--seconds", str(seconds), "--at", at_text(n, form))
    w.breaks.append(n)
    w.do("fitting", "close", "--notes", "first cycle done", "--at", day(40))
    w.log(*PHASE_A_SESSIONS_AFTER_REFUSAL[7])
    w.do("retire", "Pallof press", "--reason", "rotation hurts; replaced by bird dog", "--at", day(35))

    time.sleep(0.01)
    w.t1 = datetime.now(UTC)
    time.sleep(0.01)

    # ----- phase B: a decision backdated before phase A's, then the last few weeks -------------
    w.do("regress", "Dead bug", "--reps", "8", "--reason", "therapist: fewer reps until the flare settles",
         "--reason-code", "therapist", "--at", day(75))
    # its last session (day 84) is red by its next day: the lights' guard stands in the way unless forced
    w.do("progress", w.ids["Glute bridge"][:6], "--sets", "3", "--reason", "flare long gone", "--force",
         "--at", "3 weeks ago")
    w.do("adapt", w.ids["Side plank on knees"][:8], "--direction", "anti_flexion:frontal",
         "--reason", "work the anti-flexion pattern", "--at", day(15))
    w.do("checkin", "--pain", "2", "--at", day(15))
    for s in PHASE_B_SESSIONS:
        w.log(*s)
    for n, form, kind, seconds in BREAKS[6:]:
        w.do("break", "--kind", kind, "--seconds", str(seconds), "--at", at_text(n, form))
        w.breaks.append(n)
    w.t2 = datetime.now(UTC)
    return w


def program(data: dict) -> dict[str, tuple]:
    """``show --json`` as {name: (status, signature, parent name, component names, prescription)}."""
    names = {e["id"]: e["name"] for e in data["exercises"]}
    keys = ("position", "load", "direction", "sets", "reps", "hold_s", "per_side")
    return {
        e["name"]: (e["status"], e["signature"], names.get(e["parent"], e["parent"]),
                    [names.get(c, c) for c in e["components"]], {k: e["prescription"][k] for k in keys})
        for e in data["exercises"]
    }


def active(p, sig=False):
    return ("active", sig, None, [], p)


COMPONENTS = ["Side plank on knees", "Side-lying leg lift"]


def test_every_command_of_the_script_succeeded(world):
    assert world.failures == []


def test_promotion_refused_for_lack_of_evidence(world):
    r = world.refused_promotion
    assert r.code == 1, r
    assert "signature_evidence" in r.err or "signature-evidence" in r.err
    assert "2 logged exposures" in r.err and "needs 5" in r.err
    assert "2 different days, needs 3" in r.err
    assert r.out == ""


def test_promotion_earned_after_enough_sessions(world):
    assert world.promotion is not None, world.failures
    earned = world.promotion["result"]
    assert earned["forced"] is False
    assert earned["evidence"]["met"] is True
    assert earned["evidence"]["exposures"] == 6 and earned["evidence"]["days"] == 6
    assert earned["evidence"]["rule"]["rule_id"] == "signature-evidence"
    assert earned["evidence"]["rule"]["version"] == 1


def test_show_as_of_several_dates(world):
    w = world
    before = w.show("--as-of", day(95))
    assert before["program"]["name"] == "Alex"
    assert before["exercises"] == []
    assert when(before["as_of"]) == at_end_of(day(95))

    assert program(w.show("--as-of", day(94))) == {
        "Bird dog": active(BD_RX), "Dead bug": active(DB_RX), "Glute bridge": active(GB_RX),
        "Side plank": active(SP_RX),
    }
    flare = {
        "Bird dog": active(BD_RX), "Dead bug": active(DB_RX), "Glute bridge": active(with_(GB_RX, sets=2)),
        "Side plank": active(SP_RX),
        "Pallof press": active(with_(PP_RX, load={"type": "elastic", "magnitude": 1, "unit": "band"})),
    }
    assert program(w.show("--as-of", day(86))) == flare
    assert program(w.show("--as-of", ago(80))) == flare

    d50 = w.show("--as-of", day(50))
    assert when(d50["as_of"]) == at_end_of(day(50))
    assert program(d50) == {
        **flare,
        "Dead bug": active(with_(DB_RX, reps=12)),
        "Side plank": ("deconstructed", False, None, COMPONENTS, SP_RX),
        "Side plank on knees": ("active", False, "Side plank", [], SP_RX),
        "Side-lying leg lift": ("active", False, "Side plank", [], SP_RX),
    }
    ids = {e["name"]: e["id"] for e in d50["exercises"]}
    assert ids["Side plank on knees"] == w.ids["Side plank on knees"]
    assert {e["name"]: e["components"] for e in d50["exercises"]}["Side plank"] == [
        w.ids["Side plank on knees"], w.ids["Side-lying leg lift"]]

    d44 = program(w.show("--as-of", day(44)))
    assert d44["Bird dog"] == active(BD_RX, sig=True)
    d36 = program(w.show("--as-of", day(36)))
    assert d36["Pallof press"][0] == "active"
    d35 = program(w.show("--as-of", day(35)))
    assert d35["Pallof press"][0] == "retired"


def test_show_now_lists_retired_exercises_with_their_status(world):
    data = world.show()
    assert data["known_at"] is None
    assert program(data) == {
        "Bird dog": active(BD_RX, sig=True),
        "Dead bug": active(with_(DB_RX, reps=12)),
        "Glute bridge": active(GB_RX),
        "Side plank": ("deconstructed", False, None, COMPONENTS, SP_RX),
        "Side plank on knees": ("active", False, "Side plank", [],
                                with_(SP_RX, direction={"pattern": "anti_flexion", "plane": "frontal"})),
        "Side-lying leg lift": ("active", False, "Side plank", [], SP_RX),
        "Pallof press": ("retired", False, None, [],
                         with_(PP_RX, load={"type": "elastic", "magnitude": 1, "unit": "band"})),
    }
    for e in data["exercises"]:
        assert e["id"] == world.ids[e["name"]]


def test_backdated_decision_lands_at_its_own_date(world):
    """The regression of day 75 was recorded after the progression of day 70."""
    w = world

    def dead_bug(*args):
        return program(w.show(*args))["Dead bug"][4]

    assert dead_bug("--as-of", day(76)) == DB_RX
    assert dead_bug("--as-of", day(75)) == with_(DB_RX, reps=8)
    assert dead_bug("--as-of", day(72)) == with_(DB_RX, reps=8)
    # the later progression carries its absolute value: 12, not 8 + 2
    assert dead_bug("--as-of", day(70)) == with_(DB_RX, reps=12)


def test_known_at_shows_only_what_had_been_recorded(world):
    w = world
    t1 = w.t1.isoformat()
    early = w.show("--as-of", day(72), "--known-at", t1)
    assert when(early["known_at"]) == w.t1
    assert program(early)["Dead bug"][4] == DB_RX  # the backdated regression was not known yet

    then = w.show("--known-at", t1)
    assert program(then) == {
        "Bird dog": active(BD_RX, sig=True),
        "Dead bug": active(with_(DB_RX, reps=12)),
        "Glute bridge": active(with_(GB_RX, sets=2)),
        "Side plank": ("deconstructed", False, None, COMPONENTS, SP_RX),
        "Side plank on knees": ("active", False, "Side plank", [], SP_RX),
        "Side-lying leg lift": ("active", False, "Side plank", [], SP_RX),
        "Pallof press": ("retired", False, None, [],
                         with_(PP_RX, load={"type": "elastic", "magnitude": 1, "unit": "band"})),
    }
    assert w.show("--known-at", w.t0.isoformat())["exercises"] == []
    later = w.show("--as-of", day(72), "--known-at", w.t2.isoformat())
    assert program(later)["Dead bug"][4] == with_(DB_RX, reps=8)


EXPECTED_HISTORY = [
    # (type, exercise, days ago, reason)
    ("init", None, 95, None),
    ("fitting-open", None, 94, None),
    ("add", "Bird dog", 94, None),
    ("add", "Dead bug", 94, None),
    ("add", "Glute bridge", 94, None),
    ("add", "Side plank", 94, None),
    ("add", "Pallof press", 93, "add anti-rotation work"),
    ("regress", "Glute bridge", 87, "flare: fewer sets"),
    ("regress", "Pallof press", 86, "lighter band during the flare"),
    ("regress", "Dead bug", 75, "therapist: fewer reps until the flare settles"),
    ("progress", "Dead bug", 70, "10 reps felt easy"),
    ("deconstruct", "Side plank", 60, "side plank aggravates the right QL"),
    ("promote", "Bird dog", 44, "calms the back every time"),
    ("fitting-close", None, 40, None),
    ("retire", "Pallof press", 35, "rotation hurts; replaced by bird dog"),
    ("progress", "Glute bridge", 21, "flare long gone"),
    ("adapt", "Side plank on knees", 15, "work the anti-flexion pattern"),
]


def test_history_has_every_decision_in_valid_time_order(world):
    w = world
    entries = w.cli.ok("history", "--json").json()["entries"]
    assert [(e["type"], e["exercise"], when(e["occurred_at"]).date().isoformat(), e["reason"])
            for e in entries] == [(t, x, day(n), r) for t, x, n, r in EXPECTED_HISTORY]
    occurred = [when(e["occurred_at"]) for e in entries]
    assert occurred == sorted(occurred)
    for e in entries:
        assert w.t0 <= when(e["recorded_at"]) <= w.t2
    by = {(e["type"], e["exercise"]): e for e in entries}

    late = by[("regress", "Dead bug")]
    assert when(late["recorded_at"]) > w.t1 > when(by[("progress", "Dead bug")]["recorded_at"])
    assert (late["from"], late["to"]) == ({"reps": 10}, {"reps": 8})
    assert late["reason_code"] == "therapist"
    assert (by[("progress", "Dead bug")]["from"], by[("progress", "Dead bug")]["to"]) == ({"reps": 10}, {"reps": 12})
    assert (by[("regress", "Glute bridge")]["from"], by[("regress", "Glute bridge")]["to"]) == ({"sets": 3}, {"sets": 2})
    assert by[("regress", "Glute bridge")]["reason_code"] == "flare"
    pp = by[("regress", "Pallof press")]
    assert pp["from"] == {"load": {"type": "elastic", "magnitude": 2, "unit": "band"}}
    assert pp["to"] == {"load": {"type": "elastic", "magnitude": 1, "unit": "band"}}
    dec = by[("deconstruct", "Side plank")]
    assert dec["from"] == {"status": "active"}
    assert dec["to"] == {"status": "deconstructed", "components": COMPONENTS}
    promo = by[("promote", "Bird dog")]
    assert promo["from"] == {"signature": False}
    assert promo["to"]["signature"] is True and promo["to"]["forced"] is False
    assert (by[("retire", "Pallof press")]["from"], by[("retire", "Pallof press")]["to"]) == (
        {"status": "active"}, {"status": "retired"})
    ad = by[("adapt", "Side plank on knees")]
    assert ad["from"] == {"direction": {"pattern": None, "plane": None}}
    assert ad["to"] == {"direction": {"pattern": "anti_flexion", "plane": "frontal"}}
    add = by[("add", "Bird dog")]
    assert add["from"] is None and add["to"]["name"] == "Bird dog"
    assert add["to"]["position"] == {"stage": 2, "posture": "quadruped"}
    assert by[("init", None)]["to"]["name"] == "Alex"


def test_history_of_one_exercise_by_name_or_id_prefix(world):
    w = world

    def kinds(ref):
        return [(e["type"], e["reason"]) for e in w.cli.ok("history", ref, "--json").json()["entries"]]

    assert kinds("dead BUG") == [("add", None), ("regress", "therapist: fewer reps until the flare settles"),
                                 ("progress", "10 reps felt easy")]
    assert kinds(w.ids["Side plank"][:8]) == [("add", None), ("deconstruct", "side plank aggravates the right QL")]
    assert [k for k, _ in kinds("SIDE-LYING leg lift")] == ["deconstruct"]
    assert [k for k, _ in kinds("pallof PRESS")] == ["add", "regress", "retire"]

    text = w.cli.ok("history", "Dead bug").out
    assert "therapist: fewer reps until the flare settles" in text and "10 reps felt easy" in text
    assert "Bird dog" not in text


def test_history_since_until(world):
    entries = world.cli.ok("history", "--since", day(61), "--until", day(40), "--json").json()["entries"]
    assert [e["type"] for e in entries] == ["deconstruct", "promote", "fitting-close"]
    entries = world.cli.ok("history", "Bird dog", "--since", day(60), "--json").json()["entries"]
    assert [e["type"] for e in entries] == ["promote"]


def diff_changes(data):
    return {c["exercise"]: (c["from"], c["to"]) for c in data["changed"]}


def test_diff_between_dates(world):
    w = world
    data = w.cli.ok("diff", day(90), day(30), "--json").json()
    assert when(data["from"]) == at_end_of(day(90)) and when(data["to"]) == at_end_of(day(30))
    assert sorted(data["added"]) == COMPONENTS
    assert data["removed"] == ["Pallof press"]
    assert diff_changes(data) == {
        "Bird dog": ({"signature": False}, {"signature": True}),
        "Dead bug": ({"reps": 10}, {"reps": 12}),
        "Glute bridge": ({"sets": 3}, {"sets": 2}),
        "Side plank": ({"status": "active", "components": []},
                       {"status": "deconstructed",
                        "components": [w.ids["Side plank on knees"], w.ids["Side-lying leg lift"]]}),
    }

    backdated = w.cli.ok("diff", day(80), day(72), "--json").json()
    assert (backdated["added"], backdated["removed"]) == ([], [])
    assert diff_changes(backdated) == {"Dead bug": ({"reps": 10}, {"reps": 8})}

    recent = w.cli.ok("diff", ago(30), "today", "--json").json()
    assert (recent["added"], recent["removed"]) == ([], [])
    assert diff_changes(recent) == {
        "Glute bridge": ({"sets": 2}, {"sets": 3}),
        "Side plank on knees": ({"direction": {"pattern": None, "plane": None}},
                                {"direction": {"pattern": "anti_flexion", "plane": "frontal"}}),
    }


def recap_view(data):
    by = {x["exercise"]: (x["sessions"], x["pain_before_avg"], x["pain_after_avg"]) for x in data["by_exercise"]}
    tension = {(t["muscle"], t["side"]): t["count"] for t in data["tension"]}
    return data["sessions"], by, tension, data["breaks"]


def test_recap_window_by_hand(world):
    data = world.cli.ok("recap", "--since", day(60), "--until", day(44), "--json").json()
    assert when(data["since"]) == datetime.combine(today() - timedelta(days=60), dtime.min, UTC)
    assert when(data["until"]) == at_end_of(day(44))
    sessions, by, tension, breaks = recap_view(data)
    assert sessions == 9
    assert by == {
        "Bird dog": (6, 4.0, 2.5),              # before 4,4,5,4,3,4; after 2,3,3,2,3,2
        "Side plank on knees": (1, 3.0, 2.0),
        "Side-lying leg lift": (1, None, 2.0),  # no pain before was given
        "Dead bug": (1, 3.0, 2.0),
    }
    assert tension == {
        ("paraspinals", "left"): 2, ("paraspinals", "right"): 1, ("quadratus_lumborum", "right"): 1,
        ("glutes", "left"): 2, ("hip_flexors", "both"): 1,
    }
    # the break at 23:59 the day before is out, the one at 23:59:59 on the last day is in
    assert breaks == 5
    assert data["breaks_per_day"] == {day(60): 1, day(59): 2, day(50): 1, day(44): 1}
    assert [(d["type"], d["exercise"]) for d in data["decisions"]] == [("deconstruct", "Side plank"),
                                                                      ("promote", "Bird dog")]


def expected_recap(world, lo: int, hi: int):
    """Recap numbers computed from what the user logged between ``lo`` and ``hi`` days ago."""
    inside = [s for s in world.sessions if hi <= s[0] <= lo]
    by = {}
    for name in {s[1] for s in inside}:
        mine = [s for s in inside if s[1] == name]
        pb = [s[2] for s in mine if s[2] is not None]
        pa = [s[3] for s in mine if s[3] is not None]
        by[name] = (len(mine), round(sum(pb) / len(pb), 2) if pb else None, round(sum(pa) / len(pa), 2) if pa else None)
    tension = {}
    for s in inside:
        for t in s[4]:
            parts = t.split(":")
            key = (parts[0], parts[1] if len(parts) > 1 else "both")
            tension[key] = tension.get(key, 0) + 1
    breaks = sum(1 for n in world.breaks if hi <= n <= lo)
    return len(inside), by, tension, breaks


def test_recap_last_month_and_whole_history(world):
    w = world
    recent = w.cli.ok("recap", "--since", ago(30), "--until", "today", "--json").json()
    assert recap_view(recent) == expected_recap(w, 30, 0)
    assert recap_view(recent)[0] == 6
    assert recap_view(recent)[1]["Glute bridge"] == (2, 3.0, 1.5)
    assert [d["type"] for d in recent["decisions"]] == ["progress", "adapt"]

    default = w.cli.ok("recap", "--json").json()  # default: last month
    assert default["sessions"] == 6 and default["breaks"] == 4

    whole = w.cli.ok("recap", "--since", day(95), "--json").json()
    assert recap_view(whole) == expected_recap(w, 95, 0)
    assert whole["sessions"] == len(w.sessions) == 20
    assert len(whole["decisions"]) == len(EXPECTED_HISTORY)


def test_signature_library(world):
    data = world.cli.ok("signature", "--json").json()
    assert [e["name"] for e in data["exercises"]] == ["Bird dog"]
    bd = data["exercises"][0]
    assert bd["id"] == world.ids["Bird dog"]
    assert when(bd["promoted_at"]).date().isoformat() == day(44)
    assert bd["forced"] is False
    assert "Bird dog" in world.cli.ok("signature").out


def test_text_output_of_show(world):
    out = world.cli.ok("show", "--as-of", day(50)).out
    assert "Side plank on knees" in out and "deconstructed" in out
    assert "Pallof press" in out


# ----- a person in Paris: days begin and end at local midnight ---------------------------------


def test_day_boundaries_follow_the_program_time_zone(cli):
    paris = ZoneInfo("Europe/Paris")
    x = today() - timedelta(days=20)
    x1 = x + timedelta(days=1)
    late = f"{x.isoformat()}T23:30:00+00:00"     # already the next day in Paris
    evening = f"{x.isoformat()}T21:30:00+00:00"  # still day x in Paris
    cli.ok("init", "--name", "Camille", "--timezone", "Europe/Paris", "--at", day(30))
    cli.ok("add", "Pelvic tilt", "--position", "1:supine", "--sets", "2", "--reps", "10", "--at", x.isoformat())
    cli.ok("add", "Cat camel", "--position", "2:quadruped", "--sets", "2", "--reps", "10", "--at", late)
    cli.ok("break", "--kind", "walk", "--at", evening)
    cli.ok("log", "cat camel", "--pain-before", "3", "--pain-after", "1", "--at", late)

    on_x = cli.ok("show", "--as-of", x.isoformat(), "--json").json()
    assert [e["name"] for e in on_x["exercises"]] == ["Pelvic tilt"]
    assert when(on_x["as_of"]) == datetime.combine(x, dtime.max, paris)
    on_x1 = cli.ok("show", "--as-of", x1.isoformat(), "--json").json()
    assert sorted(e["name"] for e in on_x1["exercises"]) == ["Cat camel", "Pelvic tilt"]

    entries = cli.ok("history", "--json").json()["entries"]
    tilt = next(e for e in entries if e["exercise"] == "Pelvic tilt")
    assert when(tilt["occurred_at"]) == datetime.combine(x, dtime(12, 0), paris)  # a bare date is noon, local
    next_day = cli.ok("history", "--since", x1.isoformat(), "--until", x1.isoformat(), "--json").json()
    assert [e["exercise"] for e in next_day["entries"]] == ["Cat camel"]

    recap_x = cli.ok("recap", "--since", x.isoformat(), "--until", x.isoformat(), "--json").json()
    assert (recap_x["sessions"], recap_x["breaks"], recap_x["breaks_per_day"]) == (0, 1, {x.isoformat(): 1})
    assert when(recap_x["since"]) == datetime.combine(x, dtime.min, paris)
    recap_x1 = cli.ok("recap", "--since", x1.isoformat(), "--until", x1.isoformat(), "--json").json()
    assert (recap_x1["sessions"], recap_x1["breaks"]) == (1, 0)
    assert recap_x1["by_exercise"][0]["exercise"] == "Cat camel"
    assert when(recap_x1["until"]) == datetime.combine(x1, dtime.max, paris)
