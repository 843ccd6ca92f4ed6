"""A device's own settings (remote.json, device.json): a bad one is refused or named, never a traceback.

Issue 9, item 12: after `remote set URL --token bs1_typo` every command ended in a
``ValueError`` traceback. (The check of a well-formed token against a live server
is in tests/reliability/test_device_sync.py, which has one running.)
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers
WELL_FORMED = "bs1_" + "ab" * 16 + "_" + "s" * 43


@pytest.fixture
def home_cli(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home, None)


@pytest.mark.parametrize("token", ["bs1_typo", "bs1_" + "zz" * 16 + "_" + "s" * 43, "bs1_abcd_" + "s" * 43,
                                   "bs1_" + "ab" * 16 + "_short"])
def test_remote_set_refuses_a_token_of_the_wrong_form(home_cli, token):
    r = home_cli("remote", "set", NOWHERE, "--token", token)
    assert r.code == 2, r
    assert "bs1_<device id: 32 hex digits>_<secret" in r.err and "Traceback" not in r.err
    assert not (home_cli.home / "remote.json").exists()


def test_remote_set_accepts_a_well_formed_token_offline_with_a_warning(home_cli):
    r = home_cli("remote", "set", NOWHERE, "--token", WELL_FORMED)
    assert r.code == 0, r
    assert "warning" in r.err and "not checked" in r.err
    assert json.loads((home_cli.home / "remote.json").read_text())["token"] == WELL_FORMED


ALL_COMMANDS = [("show",), ("history",), ("add", "Bridge", "--position", "1", "--sets", "3", "--reps", "8"),
                ("export",), ("sync",)]


@pytest.mark.parametrize("content, commands", [
    ({"url": NOWHERE, "token": "bs1_typo"}, ALL_COMMANDS),  # the repro: a hand-typed token
    ({"url": "ftp://example", "token": WELL_FORMED}, [("sync",)]),
    (["not", "an", "object"], [("show",)]),
    ("{not json", [("history",)]),
])
def test_a_damaged_remote_json_is_named_by_every_command(home_cli, content, commands):
    path = home_cli.home / "remote.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    for args in commands:
        r = home_cli(*args)
        assert r.code == 1, (args, r)
        assert "Traceback" not in r.err and str(path) in r.err and "remote set" in r.err, (args, r.err)


def test_a_damaged_device_json_is_named_not_replaced(home_cli):
    path = home_cli.home / "device.json"
    path.write_text('{"device": 3}')
    r = home_cli("show")
    assert r.code == 1 and str(path) in r.err and "Traceback" not in r.err, r
    assert path.read_text() == '{"device": 3}'  # never replaced silently: the id names this device's changes


@pytest.mark.parametrize("where, needle", [
    ("home-is-a-file", "is a file, not a directory"),
    ("no-postgres-there", "cannot connect to the PostgreSQL database nothere on 127.0.0.1"),
])
def test_a_store_that_cannot_be_opened_is_named_not_a_traceback(tmp_path, where, needle):
    """A bad BACKSTORY_HOME or BACKSTORY_DB (a file where the data directory goes, no PostgreSQL at the URL) is one
    line naming the store and the setting to check, for every command (it was a FileExistsError or a psycopg
    OperationalError traceback)."""
    if where == "home-is-a-file":
        (tmp_path / "home").write_text("not a directory")
        cli = Cli(tmp_path / "home", None)
    else:
        cli = Cli(tmp_path, "postgresql://postgres@127.0.0.1:1/nothere")  # port 1: nothing listens
    for args in (("show",), ("init", "--name", "Sam"), ("history",), ("sync",)):
        r = cli(*args)
        assert r.code == 1 and "Traceback" not in r.err and needle in r.err, (args, r.err[-400:])
        assert "BACKSTORY_" in r.err and r.err.count("\n") == 1, r.err
