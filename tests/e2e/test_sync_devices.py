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
    phone.ok("progress", "Dead bug", "--sets", "4", "--reason", "easy", "--at", day(21))
    phone.ok("break", "--kind", "walk", "--at", day(19))
    for cli in (tablet, phone, tablet):
        cli.ok("sync")
    assert views(phone) == views(tablet)
    names = [e["name"] for e in views(phone)[0]["exercises"]]
    assert names == ["Dead bug", "Bird dog"]


@pytest.mark.parametrize("regress_first", [True, False])
def test_progress_and_regress_of_one_exercise(pair, regress_first):
    phone, tablet = pair
    phone.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(10))
    phone.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "10", "--at", day(9))
    phone.ok("sync")
    tablet.ok("sync")
    phone.ok("progress", "Bridge", "--sets", "4", "--reason", "easy", "--at", day(2))
    tablet.ok("regress", "Bridge", "--reps", "8", "--reason", "sore", "--at", day(2))
    first, second = (tablet, phone) if regress_first else (phone, tablet)
    first.ok("sync")
    report = second.ok("sync", "--json").json()
    for cli in (first, second):
        cli.ok("sync")
    show = {e["name"]: e for e in views(phone)[0]["exercises"]}["Bridge"]["prescription"]
    if regress_first:
        assert report["conflict"] == 1
        assert (show["sets"], show["reps"]) == (3, 8)
        for cli in (phone, tablet):
            conflicts = cli.ok("conflicts", "--json").json()["conflicts"]
            assert [c["type"] for c in conflicts] == ["progress"]
    else:
        assert report["applied"] == 1
        assert (show["sets"], show["reps"]) == (4, 8)
    assert views(phone) == views(tablet)
    if regress_first:  # the text lists the conflict by number (no id), and resolve takes that number
        assert phone.ok("conflicts").out.startswith("  1  progress Bridge  open  recorded ")
        phone.ok("resolve", "1", "--keep-current")
        phone.ok("sync")
        assert [c["resolution"] for c in phone.ok("conflicts", "--json").json()["conflicts"]] == ["keep-current"]


def test_deconstruct_against_a_concurrent_edit_and_resolve(pair):
    phone, tablet = pair
    phone.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(10))
    phone.ok("add", "Side plank", "--position", "1:side_lying", "--sets", "2", "--hold", "20", "--at", day(9))
    phone.ok("sync")
    tablet.ok("sync")
    tablet.ok("progress", "Side plank", "--hold", "30", "--reason", "easy", "--at", day(3))
    phone.ok("deconstruct", "Side plank", "--into", "Leg lift", "--into", "Short plank", "--reason", "QL", "--at", day(2))
    tablet.ok("sync")
    assert phone.ok("sync", "--json").json()["applied"] == 1
    tablet.ok("sync")
    shown = {e["name"]: e["status"] for e in views(tablet)[0]["exercises"]}
    assert shown == {"Side plank": "deconstructed", "Leg lift": "active", "Short plank": "active"}
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


def test_revoked_device_cannot_sync(pair):
    phone, tablet = pair
    tablet_id = [d for d in phone.ok("device", "list", "--json").json()["devices"] if not d.get("current")][0]["device_id"]
    phone.ok("device", "revoke", tablet_id)
    r = tablet("sync")
    assert r.code == 1 and "403" in r.err
