"""Hostile text is kept verbatim or refused with a 400 naming the field, and nothing breaks afterwards.

Names, reasons and notes carrying SQL, HTML and script, control characters,
astral characters and emoji sequences, bidi marks, format strings and
combining characters go in through a push and through the real CLI, and come
out unchanged through the pull feed, every read endpoint, and a CLI device's
``show --json`` and ``history --json`` after ``sync``. What no store can keep
(NUL, lone surrogates) is refused with a 400 naming the field; what is over a
cap (100 KB of text in one mutation) is refused with a 413 naming the
mutation, by the server and, before it is queued, by the CLI. An exercise's
name is the exception: it is normalised to NFC, and a control, bidi or
zero-width character in it is refused naming the character (look-alike and
backwards names), so names here are the hostile text without those; a device's
name is held to the same rules.
"""

from __future__ import annotations

import json
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from api import limits
from tests.conftest import Cli
from tests.security._support import Device, assert_problem, call

pytestmark = pytest.mark.timeout(900)

SQL = "Robert'); DROP TABLE stored_events; --"
SQL2 = "' OR 1=1; DELETE FROM proj_feed WHERE ''='"
HTML = "<script>alert('x')</script><img src=x onerror=\"alert(1)\">&amp;"
CONTROL = "ctl \x01\x07\x08\x1b[31m\x7f\x85\x9b\t|\r\n|\x0b\x0c end"
ASTRAL = "\U0001f9b4\U0001f4a5 \U0001d54f\U0001d538 \U0010fffd \U0001f469\u200d\u2695\ufe0f \ufeffbom"
BIDI = "\u202eRTL override\u202c \u200fmark\u200e \u2066isolate\u2069 \u061c"
FORMAT = "%s %(name)s {0} ${jndi:ldap://x} \\u0000 \\\\ \\n"
COMBINING = "e\u0301 is not \u00e9, \ufb01 is not fi"
HOSTILE = {"sql": SQL, "sql2": SQL2, "html": HTML, "control": CONTROL, "astral": ASTRAL, "bidi": BIDI,
           "format": FORMAT, "combining": COMBINING}
BIG = "\u00e9\U0001f9b4" * 10_000  # 60,000 bytes of UTF-8 (and 40,000 UTF-16 units): under the args cap
HUGE = "x" * 100_000  # 100 KB: over the 64 KiB args cap


def named(key: str, text: str) -> str:
    """The exercise name carrying ``text``: NFC, without the characters a name refuses (kept verbatim elsewhere)."""
    kept = "".join(c for c in unicodedata.normalize("NFC", text)
                   if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    return f"{key} {kept}".strip()


def strings(node) -> list[str]:
    """Every string in a JSON value, also inside strings that hold JSON (a stored event's state)."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [k, *strings(v)]]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    if isinstance(node, str):
        if node[:1] in "{[":
            try:
                return [node, *strings(json.loads(node))]
            except ValueError:
                pass
        return [node]
    return []


def caught_up(server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.lag() in (0, None):
            return
        time.sleep(0.2)
    raise AssertionError("the projections did not catch up")


@pytest.fixture
def hostile(server):
    """An account whose program was written with hostile text in every text argument."""
    device = Device.new_account(server, "hostile")
    results = device.push_ok(
        device.m("init", 10, name=SQL, timezone="UTC"),
        *[device.m("add", 9, name=named(key, text), position="1:supine", sets=2, reps=5, reason=text)
          for key, text in HOSTILE.items()],
        *[device.m("log", 8, exercise=named(key, text), pain_before=4, pain_after=2, note=text)
          for key, text in HOSTILE.items()],
        device.m("checkin", 7, pain=3, note=BIG),
        device.m("sleep", 7, hours=7, position="side", note=HTML),
        device.m("flare-start", 6, pain=5, note=HTML),
        device.m("fitting-open", 5, notes=BIDI),
        device.m("progress", 4, exercise=f"sql {SQL}", sets=3, reason=CONTROL, reason_code="pain", force=True))
    assert [r["status"] for r in results] == ["applied"] * len(results), [r for r in results
                                                                         if r["status"] != "applied"]
    return device


def test_hostile_text_is_served_as_json_never_as_a_page(server, hostile):
    for path in ("/v1/program", "/v1/history", "/v1/sessions", "/v1/recap", "/v1/tension", "/v1/sync/pull",
                 "/v1/nothing", "/v1/fittings/report", "/v1/flares", "/v1/kit", "/v1/signature/candidates",
                 "/v1/day", "/v1/breaks"):
        reply = hostile.get(path)
        assert reply.mimetype in ("application/json", "application/problem+json"), (path, reply)
        assert reply.headers["x-content-type-options"] == "nosniff" and reply.headers["cache-control"] == "no-store"
    assert "<script>" in hostile.get("/v1/program").text  # verbatim, escaped only as JSON escapes text


def test_hostile_text_comes_back_verbatim_from_the_feed_and_every_read(server, hostile):
    program = hostile.get("/v1/program").json()
    assert program["program"]["name"] == SQL
    assert {e["name"] for e in program["exercises"]} == {named(k, t) for k, t in HOSTILE.items()}
    history = hostile.get("/v1/history").json()["entries"]
    assert set(HOSTILE.values()) <= {e["reason"] for e in history}
    assert any(e["reason"] == CONTROL and e["reason_code"] == "pain" for e in history)
    notes = [s["note"] for s in hostile.get("/v1/sessions").json()["sessions"]]
    assert sorted(notes) == sorted(HOSTILE.values())
    for key, text in HOSTILE.items():
        if "/" in text:
            continue  # a URL path segment cannot carry a slash (%2F is decoded before routing)
        one = hostile.get(f"/v1/exercises/{quote(named(key, text), safe='')}/history")
        assert one.status == 200, (key, one)
        assert {e["exercise"] for e in one.json()["entries"]} == {named(key, text)}
    year_ago = (datetime.now(UTC) - timedelta(days=limits.MAX_RECAP_DAYS - 1)).date().isoformat()
    recap = hostile.get("/v1/recap", since=year_ago).json()  # a recap covers at most MAX_RECAP_DAYS
    assert set(HOSTILE.values()) <= {d["reason"] for d in recap["decisions"]}
    report = hostile.get("/v1/fittings/report").json()
    assert report["decisions"][0]["to"]["notes"] == BIDI
    assert (report["decisions"][1]["exercise"], report["decisions"][1]["reason"]) == (f"sql {SQL}", CONTROL)
    for key, text in HOSTILE.items():
        if "/" not in text:
            evidence = hostile.get(f"/v1/exercises/{quote(named(key, text), safe='')}/signature-evidence")
            assert evidence.status == 200 and evidence.json()["exercise"] == named(key, text), (key, evidence)
    seven_days_ago = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    day = hostile.get("/v1/day", date=seven_days_ago).json()
    assert day["sleep"]["note"] == HTML and day["checkins"][0]["note"] == BIG
    feed = set(strings(hostile.pull_all()[0]))
    for text in [*HOSTILE.values(), BIG, SQL, BIDI]:
        assert text in feed, text
    caught_up(server)


def test_a_device_name_is_kept_as_an_exercise_name_is_or_refused_naming_name(server, hostile):
    """A device's name is shown to every device of the account: NFC, and no control, bidi or zero-width
    character (a look-alike or backwards name); the rest of the hostile text is kept as it came."""
    kept = (SQL, HTML, FORMAT, COMBINING, named("astral", ASTRAL))
    for text in kept:
        reply = hostile.call("POST", "/v1/devices", body={"name": text})
        assert reply.status == 201, (text, reply)
    names = {d["name"] for d in hostile.get("/v1/devices").json()["devices"]}
    assert {unicodedata.normalize("NFC", t) for t in kept} <= names
    for text in (CONTROL, BIDI, ASTRAL, "a\u0000b", "x" * (limits.MAX_NAME_CHARS + 1), "   "):
        assert_problem(hostile.call("POST", "/v1/devices", body={"name": text}), 400, field="name")


@pytest.mark.parametrize("field, args", [
    ("mutations.0.args.note", {"pain": 2, "note": "a\u0000b"}),
    ("mutations.0.args.note", {"pain": 2, "note": "\ud800 lone"}),
    ("mutations.0.args.note", {"pain": 2, "note": "lone \udfff"}),
    ("mutations.0.args.travels.1", {"pain": 2, "travels": ["low_back", "x\u0000"]}),
])
def test_text_no_store_can_keep_is_a_400_naming_the_field(server, hostile, field, args):
    before = hostile.pull_all()[0]
    mutation = hostile.m("checkin", **args)
    raw = json.dumps({"mutations": [mutation]}).encode()  # \u escapes: JSON can carry what UTF-8 cannot
    assert_problem(hostile.call("POST", "/v1/sync/push", raw=raw), 400, field=field)
    hostile.seq -= 1
    assert hostile.pull_all()[0] == before
    assert hostile.push_ok(hostile.m("break", kind="walk"))[0]["status"] == "applied"


def test_text_over_the_args_cap_is_413_and_the_next_push_works(server, hostile):
    for mutation_type, args in (("checkin", {"pain": 1, "note": HUGE}), ("init", {"name": HUGE}),
                                ("add", {"name": "n", "position": "1:supine", "sets": 1, "reason": HUGE})):
        mutation = hostile.m(mutation_type, **args)
        assert_problem(hostile.push(mutation), 413, field="mutations.0.args")
        hostile.seq -= 1
    results = hostile.push_ok(hostile.m("add", name="x" * 201, position="1:supine", sets=1, reps=1),
                              hostile.m("break", kind="walk"))
    assert results[0]["status"] == "rejected" and "name" in results[0]["reason"], results
    assert results[1]["status"] == "applied"


def test_a_name_with_an_invisible_or_control_character_is_rejected_naming_it(server, hostile):
    cases = {"Bad\u202ename": "U+202E RIGHT-TO-LEFT OVERRIDE", "Two\nlines": "U+000A LINE FEED",
             "Tab\tname": "U+0009 CHARACTER TABULATION", "zero\u200bwidth": "U+200B ZERO WIDTH SPACE",
             "\ufeffbom": "U+FEFF ZERO WIDTH NO-BREAK SPACE"}
    results = hostile.push_ok(*[hostile.m("add", name=n, position="1:supine", sets=1, reps=1) for n in cases],
                              hostile.m("init", name=f"Sam{BIDI}", timezone="UTC"))
    assert [(r["status"], r["reason"]) for r in results] == [
        *[("rejected", f"name: {c} is not allowed") for c in cases.values()],
        ("rejected", "name: U+202E RIGHT-TO-LEFT OVERRIDE is not allowed")]
    # the decomposed spelling of a name is the composed one: the same exercise, not a look-alike second one
    results = hostile.push_ok(hostile.m("add", name="e\u0301tude", position="1:supine", sets=1, reps=1),
                              hostile.m("add", name="\u00e9tude", position="1:supine", sets=1, reps=1),
                              hostile.m("log", exercise="E\u0301TUDE", pain_before=2))
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"], results
    assert "name_taken" in json.dumps(results[1]) and results[2]["result"]["exercise"] == "\u00e9tude"


def test_hostile_queries_and_paths_are_never_a_5xx(server, hostile):
    for target in ("/v1/program?as_of=%00", "/v1/program?as_of=%ED%A0%80", "/v1/history?since=%27%3B--",
                   "/v1/sessions?since=%3Cscript%3E", "/v1/sync/pull?after=%00", "/v1/sync/pull?after=%FF%FE",
                   "/v1/exercises/%00/history", "/v1/exercises/%ED%A0%80/history", "/v1/exercises/%FF/history",
                   "/v1/exercises/%27%20OR%201%3D1--/history", "/v1/devices/%00", "/v1/devices/%27%3B--"):
        method = "DELETE" if target.startswith("/v1/devices/") else "GET"
        reply = hostile.call(method, target)
        assert 400 <= reply.status < 500, (target, reply)
        assert reply.mimetype == "application/problem+json", (target, reply)
    caught_up(server)
    assert hostile.get("/v1/program").json()["program"]["name"] == SQL


# ----- through the real CLI ----------------------------------------------------------------------


def cli_device(tmp_path, name: str, server, token: str) -> Cli:
    home = tmp_path / name
    home.mkdir()
    cli = Cli(home, None)
    cli.ok("remote", "set", server.url, "--token", token)
    return cli


@pytest.mark.timeout(900)
def test_hostile_text_round_trips_through_cli_devices(server, hostile, tmp_path):
    laptop = cli_device(tmp_path, "laptop", server, hostile.pair("laptop").token)
    laptop.ok("sync")
    # hostile text typed on the CLI (a note or a reason each), synced, read back by the API and another CLI
    for i, (key, text) in enumerate(HOSTILE.items()):
        if i % 2:
            laptop.ok("regress", named(key, text), "--reps", "4", "--reason", f"cli {text}")
        else:
            laptop.ok("log", named(key, text), "--pain-before", "3", "--note", f"cli {text}")
    report = laptop.ok("sync", "--json").json()
    assert (report["rejected"], report["applied"]) == (0, len(HOSTILE)), report
    typed = {f"cli {t}" for t in HOSTILE.values()}
    notes = {s["note"] for s in hostile.get("/v1/sessions").json()["sessions"]}
    reasons = {e["reason"] for e in hostile.get("/v1/history").json()["entries"]}
    assert typed <= notes | reasons

    phone = cli_device(tmp_path, "phone", server, hostile.pair("phone").token)
    phone.ok("sync")
    today = datetime.now(UTC).date().isoformat()
    show, history = (laptop.ok("show", "--as-of", today, "--json").json(), laptop.ok("history", "--json").json())
    assert show["program"]["name"] == SQL
    assert {e["name"] for e in show["exercises"]} == {named(k, t) for k, t in HOSTILE.items()}
    regressed = {f"cli {t}" for i, t in enumerate(HOSTILE.values()) if i % 2}
    assert set(HOSTILE.values()) | regressed <= {e["reason"] for e in history["entries"]}
    assert phone.ok("show", "--as-of", today, "--json").json() == show
    assert phone.ok("history", "--json").json() == history
    assert hostile.push_ok(hostile.m("break", kind="walk"))[0]["status"] == "applied"


@pytest.fixture
def laptop(server, tmp_path) -> tuple[Device, Cli]:
    owner = Device.new_account(server, "big notes")
    owner.push_ok(owner.m("init", 3, name="Big", timezone="UTC"),
                  owner.m("add", 3, name="Bridge", position="1:supine", sets=2, reps=5))
    laptop = cli_device(tmp_path, "laptop", server, owner.pair("laptop").token)
    laptop.ok("sync")
    return owner, laptop


def test_the_cli_refuses_at_once_what_the_server_would_refuse_so_sync_is_never_stuck(laptop):
    owner, cli = laptop
    refused = cli("log", "Bridge", "--note", HUGE)
    assert refused.code == 1 and "note" in refused.err and "64 KiB" in refused.err, refused
    undecodable = cli("checkin", "--pain", "2", "--note", b"bad \xff byte")  # argv bytes that are not UTF-8
    assert undecodable.code == 1 and "note" in undecodable.err and "UTF-8" in undecodable.err, undecodable
    assert "Traceback" not in undecodable.err
    cli.ok("checkin", "--pain", "2", "--note", CONTROL)
    report = cli.ok("sync", "--json").json()
    assert (report["pushed"], report["applied"]) == (1, 1), report
    assert CONTROL in strings(owner.pull_all()[0])


@pytest.mark.timeout(900)
def test_a_backlog_of_big_notes_syncs_in_batches_under_the_body_cap(laptop):
    owner, cli = laptop
    # each under the args cap; sent as JSON with ASCII escapes, 180 KB each: together over the 1 MiB body cap
    for _ in range(7):
        cli.ok("checkin", "--pain", "2", "--note", BIG)
    report = cli.ok("sync", "--json").json()
    assert report["applied"] == 7 and report["rejected"] == 0, report
    assert sum(s == BIG for s in strings(owner.pull_all()[0])) >= 7
