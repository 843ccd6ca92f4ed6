"""Two and three CLI devices syncing through a real server process (SPEC 5, issue 3).

The server is `backstory serve` on a free port, on SQLite or PostgreSQL; each
device is the real CLI in its own BACKSTORY_HOME with its own SQLite store.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import Cli
from tests.e2e.conftest import day


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(store_url, tmp_path):
    """A real server process on the store; yields (url, admin cli on the server's store)."""
    home = tmp_path / "server"
    home.mkdir()
    admin = Cli(home, store_url if not store_url.startswith("sqlite") else f"sqlite:///{home / 'server.sqlite'}")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], env=admin.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode())
            time.sleep(0.1)
    yield url, admin
    proc.terminate()
    proc.wait(10)


def device(tmp_path, name: str, url: str, token: str) -> Cli:
    home = tmp_path / name
    home.mkdir()
    cli = Cli(home, None)
    cli.ok("remote", "set", url, "--token", token)
    return cli


@pytest.fixture
def pair(server, tmp_path):
    url, admin = server
    token = admin.ok("account", "create", "sam", "--json").json()["token"]
    phone = device(tmp_path, "phone", url, token)
    tablet_token = phone.ok("device", "pair", "tablet", "--json").json()["token"]
    tablet = device(tmp_path, "tablet", url, tablet_token)
    return phone, tablet


def views(cli: Cli) -> tuple:
    as_of = day(0)
    return (cli.ok("show", "--as-of", as_of, "--json").json(), cli.ok("history", "--json").json())


def test_offline_work_on_two_devices_converges(pair):
    phone, tablet = pair
    phone.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(40))
    phone.ok("add", "Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "8", "--at", day(39))
    phone.ok("log", "Dead bug", "--pain-before", "4", "--pain-after", "2", "--at", day(38))
    report = phone.ok("sync", "--json").json()
    assert report["applied"] == 3 and report["pulled"] >= 3
    tablet.ok("sync")
    tablet.ok("add", "Bird dog", "--position", "2:quadruped", "--sets", "3", "--reps", "6", "--at", day(20))
    phone.ok("progress", "Dead bug", "--sets", "4", "--reason", "easy", "--force", "--at", day(21))  # unanswered session
    phone.ok("break", "--kind", "walk", "--at", day(19))
    for cli in (tablet, phone, tablet):
        cli.ok("sync")
    assert views(phone) == views(tablet)
    names = [e["name"] for e in views(phone)[0]["exercises"]]
    assert names == ["Dead bug", "Bird dog"]


def _synced_pair(pair, name: str, *rx: str):
    phone, tablet = pair
    phone.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(10))
    phone.ok("add", name, *rx, "--at", day(9))
    phone.ok("sync")
    tablet.ok("sync")
    return phone, tablet


def _settle(*clis: Cli) -> None:
    for cli in clis:
        cli.ok("sync")


@pytest.mark.parametrize("regress_first", [True, False])
def test_progress_and_regress_of_one_exercise(pair, regress_first):
    """Issue 9 item 4: the most conservative wins whoever syncs first, and the progression is a conflict."""
    phone, tablet = _synced_pair(pair, "Bird dog", "--position", "2:quadruped", "--sets", "3", "--reps", "6")
    tablet.ok("regress", "Bird dog", "--reps", "4", "--reason", "flare")
    phone.ok("progress", "Bird dog", "--reps", "8", "--reason", "easy")
    first, second = (tablet, phone) if regress_first else (phone, tablet)
    first.ok("sync")
    report = second.ok("sync", "--json").json()
    _settle(first, second)
    assert report["conflict" if regress_first else "applied"] == 1
    show = {e["name"]: e for e in views(phone)[0]["exercises"]}["Bird dog"]["prescription"]
    assert (show["sets"], show["reps"]) == (3, 4)
    for cli in (phone, tablet):
        conflicts = cli.ok("conflicts", "--json").json()["conflicts"]
        assert [(c["type"], c["resolution"]) for c in conflicts] == [("progress", None)]
    assert views(phone) == views(tablet)
    if regress_first:  # the text lists the conflict by number (no id), and resolve takes that number
        assert phone.ok("conflicts").out.startswith("  1  progress Bird dog  open  recorded ")
        phone.ok("resolve", "1", "--keep-current")
        phone.ok("sync")
        assert [c["resolution"] for c in phone.ok("conflicts", "--json").json()["conflicts"]] == ["keep-current"]


def test_deconstruct_against_a_concurrent_edit_and_resolve(pair):
    phone, tablet = _synced_pair(pair, "Side plank", "--position", "1:side_lying", "--sets", "2", "--hold", "20")
    tablet.ok("progress", "Side plank", "--hold", "30", "--reason", "easy", "--at", day(3))
    phone.ok("deconstruct", "Side plank", "--into", "Leg lift", "--into", "Short plank", "--reason", "QL", "--at", day(2))
    tablet.ok("sync")
    assert phone.ok("sync", "--json").json()["applied"] == 1
    tablet.ok("sync")
    shown = {e["name"]: (e["status"], e["prescription"]["hold_s"]) for e in views(tablet)[0]["exercises"]}
    # it wins after the progression it overrides, which it gives back, and its components start from 20 s
    assert shown == {"Side plank": ("deconstructed", 20), "Leg lift": ("active", 20), "Short plank": ("active", 20)}
    assert [e["type"] for e in views(tablet)[1]["entries"]][-1] == "deconstruct"
    conflict = tablet.ok("conflicts", "--json").json()["conflicts"]
    assert [c["type"] for c in conflict] == ["progress"]
    tablet.ok("resolve", conflict[0]["id"][:8], "--keep-current")
    _settle(phone, tablet)
    assert views(phone) == views(tablet)


def test_retire_against_a_concurrent_regress_that_synced_first(pair):
    """Issue 9 item 8: D retires, B (offline) regresses a second later and syncs first: retired, nothing
    after the retire, and the regression kept as a conflict on every device."""
    phone, tablet = _synced_pair(pair, "Arm reach", "--position", "2:quadruped", "--sets", "3", "--reps", "5")
    phone.ok("retire", "Arm reach", "--reason", "done")
    time.sleep(1)
    tablet.ok("regress", "Arm reach", "--reps", "4", "--reason", "sore")
    tablet.ok("sync")
    phone.ok("sync")
    tablet.ok("sync")
    show, history = views(tablet)
    assert {e["name"]: (e["status"], e["prescription"]["reps"]) for e in show["exercises"]} == {
        "Arm reach": ("retired", 5)}  # as if the regression had come second: 3x5 [retired], kept as a conflict
    assert [e["type"] for e in history["entries"]][-2:] == ["regress", "retire"]
    for cli in (phone, tablet):
        assert [c["type"] for c in cli.ok("conflicts", "--json").json()["conflicts"]] == ["regress"]
    assert views(phone) == views(tablet)


def test_device_offline_for_weeks_lands_backdated_facts(pair):
    phone, tablet = pair
    phone.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(60))
    phone.ok("add", "Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "8", "--at", day(59))
    phone.ok("sync")
    tablet.ok("sync")
    for n in (40, 35, 30):  # the tablet was offline for weeks
        tablet.ok("log", "Dead bug", "--pain-before", "5", "--pain-after", "3", "--at", day(n))
    phone.ok("regress", "Dead bug", "--reps", "6", "--reason", "flare", "--at", day(20))
    phone.ok("sync")
    tablet.ok("sync")
    phone.ok("sync")
    recap = phone.ok("recap", "--since", day(45), "--until", day(25), "--json").json()
    assert recap["sessions"] == 3 and recap["by_exercise"][0]["pain_before_avg"] == 5
    old = {e["name"]: e for e in phone.ok("show", "--as-of", day(30), "--json").json()["exercises"]}
    assert old["Dead bug"]["prescription"]["reps"] == 8
    assert views(phone) == views(tablet)


def test_a_devices_backfill_before_the_servers_start_moves_it_back_on_every_device(pair):
    phone, tablet = pair
    phone.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(5))
    phone.ok("add", "Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "8", "--at", day(4))
    phone.ok("sync")
    tablet.ok("sync")
    # the tablet, offline, enters the weeks before the program's start on the server
    tablet.ok("add", "Bird dog", "--position", "2:quadruped", "--sets", "3", "--reps", "6", "--at", day(30))
    tablet.ok("log", "Bird dog", "--pain-before", "4", "--at", day(29))
    tablet.ok("checkin", "--pain", "5", "--at", day(35))
    phone.ok("progress", "Dead bug", "--sets", "4", "--reason", "easy", "--at", day(2))
    _settle(tablet, phone, tablet)
    assert views(phone) == views(tablet)
    moves = [e for e in views(phone)[1]["entries"] if e["type"] == "start-moved-back"]
    assert [(m["to"]["cause"], m["from"]["started"][:10], m["to"]["started"][:10]) for m in moves] == [
        ("checkin", day(30), day(35)), ("add", day(5), day(30))]
    for cli in (phone, tablet):
        assert cli.ok("show", "--as-of", day(36), "--json").json()["program"]["started"] is False
        then = cli.ok("show", "--as-of", day(29), "--json").json()
        assert [e["name"] for e in then["exercises"]] == ["Bird dog"] and then["program"]["started"] is True
    assert phone.ok("recap", "--since", day(40), "--until", day(20), "--json").json()["sessions"] == 1


def test_revoked_device_cannot_sync(pair):
    phone, tablet = pair
    tablet_id = [d for d in phone.ok("device", "list", "--json").json()["devices"] if not d.get("current")][0]["device_id"]
    phone.ok("device", "revoke", tablet_id, "--yes")  # the last other device: confirmed
    r = tablet("sync")
    assert r.code == 1 and "403" in r.err
