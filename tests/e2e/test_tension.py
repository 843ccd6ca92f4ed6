"""``backstory tension`` as a user runs it (issue 12, item 4): answers worked out by hand.

The history: paraspinals overactive in 2 of the last 3 bridges (a voided bridge would
change which), the upper trapezius overactive in 2 rows, gluteus medius 6.5 vs 3.5 over
two clamshells that target it, hamstrings on the left only in 3 rows. The same answer
comes back after export/import into a fresh store, from ``GET /v1/tension`` of a real
server the device synced to, and on a second device synced from it.
"""

from __future__ import annotations

from tests.conftest import Cli
from tests.e2e.conftest import day
from tests.server_process import ServerProcess, free_port, http, serve_command, server_env


def logged(c: Cli, exercise: str, n: int, *tension: str) -> str:
    args = [a for t in tension for a in ("--tension", t)]
    return c.ok("log", exercise, "--pain-during", "2", *args, "--at", day(n), "--json").json()["result"]["fact_id"]


def history(c: Cli) -> dict[str, str]:
    """The history of the module docstring; the session ids by name."""
    c.ok("init", "--name", "Robin", "--timezone", "UTC", "--at", day(30))
    c.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "10", "--target", "glutes",
         "--protect", "hip_flexors", "--at", day(29))
    c.ok("add", "Row", "--position", "3:standing", "--load", "elastic:1:band", "--sets", "3", "--reps", "10",
         "--target", "lower_trapezius", "--at", day(29))
    c.ok("add", "Clamshell", "--position", "1:side-lying", "--sets", "2", "--reps", "12", "--target", "gluteus_medius",
         "--at", day(29))
    ids = {
        "bridge1": logged(c, "Bridge", 20, "paraspinals:left:overactive:6"),
        "bridge2": logged(c, "Bridge", 18, "glutes:left:underactive:3"),
        "bridge3": logged(c, "Bridge", 16, "paraspinals:both:guarding:4"),
        "row1": logged(c, "Row", 19, "upper_trapezius:both:overactive:5", "hamstrings:left:cramping:2"),
        "row2": logged(c, "Row", 17, "upper_trapezius:right:overactive:4", "hamstrings:left:cramping:4"),
        "row3": logged(c, "Row", 13, "hamstrings:left:cramping"),
        "clam1": logged(c, "Clamshell", 15, "gluteus_medius:left:underactive:7", "gluteus_medius:right:underactive:3"),
        "clam2": logged(c, "Clamshell", 14, "gluteus_medius:left:underactive:6", "gluteus_medius:right:underactive:4"),
    }
    late = logged(c, "Bridge", 12, "paraspinals:right:overactive:9")
    c.ok("void", late, "--reason", "logged on the wrong day")
    return ids


def expected_suggestions(ids: dict[str, str]) -> list[dict]:
    return [
        {"rule_id": "tension-suggestions", "rule_version": 1, "exercise": "Bridge",
         "message": "consider regressing the position or range of Bridge", "facts": [ids["bridge1"], ids["bridge3"]],
         "muscles": ["paraspinals"], "why": "paraspinals overactive or guarding in 2 of the last 3 sessions"},
        {"rule_id": "tension-suggestions", "rule_version": 1, "exercise": "Clamshell",
         "message": "consider a unilateral exercise for the weaker side", "facts": [ids["clam1"], ids["clam2"]],
         "muscles": ["gluteus_medius"], "why": "gluteus_medius left 6.5, right 3.5 in 2 of the last 2 sessions"},
        {"rule_id": "tension-suggestions", "rule_version": 1, "exercise": "Row",
         "message": "consider a position that takes the shoulders out of it", "facts": [ids["row1"], ids["row2"]],
         "muscles": ["upper_trapezius"], "why": "upper_trapezius overactive in 2 of the last 3 sessions"},
    ]


def test_tension_answers_by_hand_filters_refuses_bad_values_and_survives_export_import(cli, fresh_cli, tmp_path):
    ids = history(cli)
    out = cli.ok("tension", "--until", day(0), "--json").json()
    assert out["since"] is None and out["until"].startswith(day(0)) and out["sessions"] == 8
    rows = {(m["muscle"], m["side"]): m for m in out["muscles"]}
    assert rows[("hamstrings", "left")] == {"muscle": "hamstrings", "side": "left", "count": 3, "mean_intensity": 3.0,
                                            "kinds": {"cramping": 3}, "exercises": ["Row"]}
    assert rows[("upper_trapezius", "both")]["mean_intensity"] == 5.0
    assert ("paraspinals", "right") not in rows  # only in the voided session
    assert out["asymmetries"] == [
        {"muscle": "gluteus_medius", "kind": "means-differ", "side": "left", "left_mean": 6.5, "right_mean": 3.5,
         "exposures": 2, "facts": [ids["clam1"], ids["clam2"]]},
        {"muscle": "hamstrings", "kind": "one-sided", "side": "left", "left_mean": 3.0, "right_mean": None,
         "exposures": 3, "facts": [ids["row1"], ids["row2"], ids["row3"]]},
    ]
    assert out["suggestions"] == expected_suggestions(ids)
    assert out["policy"] == {"id": "tension-suggestions", "version": 1, "params": {
        "last_sessions": 3, "min_hits": 2, "asymmetry_points": 2, "asymmetry_sessions": 2, "one_sided_sessions": 3}}

    text = cli.ok("tension", "--until", day(0)).out
    assert f"Tension from the start to {day(0)}: 8 sessions" in text
    assert "  hamstrings (left): 3x, mean intensity 3; cramping 3; in Row" in text
    assert "  gluteus_medius: left 6.5, right 3.5 over 2 sessions with both sides" in text
    assert "  hamstrings: left only, in 3 sessions (mean 3)" in text
    assert (f"Bridge: consider regressing the position or range of Bridge (paraspinals overactive or guarding in 2 "
            f"of the last 3 sessions; sessions {ids['bridge1'][:8]}, {ids['bridge3'][:8]}; tension-suggestions v1)"
            in text)
    assert "not a diagnosis" in text

    narrow = cli.ok("tension", "--muscle", "upper_trapezius", "--side", "right", "--since", day(18), "--json").json()
    assert [(m["muscle"], m["side"], m["count"]) for m in narrow["muscles"]] == [("upper_trapezius", "right", 1)]
    assert narrow["asymmetries"] == [] and narrow["suggestions"] == []  # one row in the period: no rule fires
    assert narrow["since"].startswith(day(18))

    for args, named in ((("--muscle", "biceps"), "'--muscle': 'biceps' is not one of 'paraspinals'"),
                        (("--side", "up"), "'--side': 'up' is not one of 'left', 'right', 'both'"),
                        (("--since", day(1), "--until", day(5)), "--since"),
                        (("--until", "someday"), "--until")):
        bad = cli("tension", *args)
        assert bad.code == 2 and named in bad.err, (args, bad.err)

    path = tmp_path / "export.jsonl"
    cli.ok("export", "--format", "jsonl", "-o", str(path))
    fresh_cli.ok("import", str(path))
    assert fresh_cli.ok("tension", "--until", day(0), "--json").json() == out
    assert fresh_cli.ok("tension", "--until", day(0)).out == text


def test_the_api_answers_the_same_json_as_the_cli_of_a_synced_device(tmp_path):
    """One SQLite server: the endpoint's backends are covered by tests/integration/test_api_tension.py."""
    admin = Cli(tmp_path / "server", f"sqlite:///{tmp_path / 'server.sqlite'}")
    admin.home.mkdir(mode=0o700)
    port = free_port()
    server = ServerProcess(serve_command(admin.db, port), port, server_env(admin.home), tmp_path / "server.log")
    try:
        token = admin.ok("account", "create", "robin", "--json").json()["token"]
        phone = Cli(tmp_path / "phone", None)
        phone.home.mkdir(mode=0o700)
        phone.ok("remote", "set", server.url, "--token", token)
        ids = history(phone)
        phone.ok("sync")
        mine = phone.ok("tension", "--until", day(0), "--json").json()
        status, _, body = http("GET", f"{server.url}/v1/tension?until={day(0)}", token=token)
        assert status == 200 and body == mine
        assert body["suggestions"] == expected_suggestions(ids)
        status, _, body = http("GET", f"{server.url}/v1/tension?muscle=hamstrings&since={day(19)}", token=token)
        assert status == 200 and [a["muscle"] for a in body["asymmetries"]] == ["hamstrings"]
        assert body == phone.ok("tension", "--muscle", "hamstrings", "--since", day(19), "--json").json()
        status, _, problem = http("GET", f"{server.url}/v1/tension?side=up", token=token)
        assert status == 400 and "side" in problem["errors"]
        tablet = Cli(tmp_path / "tablet", None)  # a second device answers the same once it has synced
        tablet.home.mkdir(mode=0o700)
        tablet.ok("remote", "set", server.url, "--token", phone.ok("device", "pair", "tablet", "--json").json()["token"])
        tablet.ok("sync")
        assert tablet.ok("tension", "--until", day(0), "--json").json() == mine
    finally:
        server.stop()
