"""Tokens are shown once and stored only as their hash: read from the real rows of every table.

Accounts are made as an operator makes them (``backstory account create`` on
the server's store) and devices paired over the API; every token is then used,
rightly and wrongly. Every row of every table of the store (the event store's
own, the read models', the tracking rows) is dumped as text, bytes decoded and
in hex, and no token, no secret part, and no secret's bytes appear in it,
while each token's SHA-256 does (so the dump does see the devices' rows).
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.conftest import Cli
from tests.security._support import Device, assert_problem, call, dump, secret_forms, token_secret

pytestmark = pytest.mark.timeout(600)


def test_no_token_or_secret_is_in_any_row_only_its_hash(server, tmp_path):
    admin_home = tmp_path / "admin"
    admin_home.mkdir()
    admin = Cli(admin_home, server.db_url)
    made = admin.ok("account", "create", "token owner", "--json").json()
    assert set(made) == {"account_id", "device_id", "token"}
    owner = Device(server.url, made["token"], made["device_id"], made["account_id"])
    assert owner.push_ok(owner.m("init", 1, name="Token Owner"))[0]["status"] == "applied"
    tablet = owner.pair("tablet")
    gone = owner.pair("gone")
    assert owner.call("DELETE", f"/v1/devices/{gone.device_id}").status == 200
    tokens = [owner.token, tablet.token, gone.token]
    for token in tokens:
        call(server.url, "GET", "/v1/devices", token=token)
        call(server.url, "GET", "/v1/devices", token=token[:-2] + "zz")
        call(server.url, "GET", "/v1/devices", authorization=f"Bearer bs1_x_{token_secret(token)}")

    from service.accounts import token_hash

    rows = dump(server.db_url)
    assert "Token Owner" in rows  # the dump reads the stored events' text
    for token in tokens:
        assert token_hash(token) in rows  # ...and the devices' rows, where the hash is kept
        assert [form for form in secret_forms(token) if form in rows] == []


def test_a_token_is_shown_once_and_no_answer_carries_a_token_or_its_hash(server):
    from service.accounts import token_hash

    owner = Device.new_account(server, "shown once")
    reply = owner.call("POST", "/v1/devices", body={"name": "phone"})
    assert reply.status == 201 and reply.json()["token"].startswith("bs1_")
    assert reply.headers["cache-control"] == "no-store"  # no cache keeps the one answer holding the token
    tablet_token = reply.json()["token"]
    hashes = [token_hash(owner.token), token_hash(tablet_token)]
    secrets = [*secret_forms(owner.token), *secret_forms(tablet_token), *hashes]
    assert owner.push_ok(owner.m("init", 1, name="Shown Once"))[0]["status"] == "applied"
    for path in ("/v1/devices", "/v1/sync/pull", "/v1/program", "/v1/history", "/v1/conflicts"):
        text = owner.get(path).text
        assert [s for s in secrets if s in text] == [], path
        assert "bs1_" not in text and "token" not in json.loads(text).get("devices", [{}])[0], path


def test_the_cli_keeps_its_token_in_a_private_file_and_never_prints_it_again(server, tmp_path):
    owner = Device.new_account(server, "cli owner")
    home = tmp_path / "device"
    home.mkdir()
    cli = Cli(home, None)
    cli.ok("remote", "set", server.url, "--token", owner.token)
    files = [p for p in home.iterdir() if p.is_file() and owner.token in p.read_text(errors="replace")]
    assert [p.name for p in files] == ["remote.json"]
    assert stat.S_IMODE(os.stat(files[0]).st_mode) & 0o077 == 0
    outputs = [cli.ok("sync"), cli.ok("device", "list"), cli.ok("device", "list", "--json"), cli.ok("sync", "--json")]
    for result in outputs:
        assert owner.token not in result.out + result.err and token_secret(owner.token) not in result.out + result.err
    bad = cli("remote", "set", server.url, "--token", "not-a-token")
    assert bad.code == 2 and "bs1_" in bad.err
    revoked = Cli(tmp_path / "revoked", None)
    (tmp_path / "revoked").mkdir()
    paired = owner.pair("soon revoked")
    revoked.ok("remote", "set", server.url, "--token", paired.token)
    assert owner.call("DELETE", f"/v1/devices/{paired.device_id}?confirm={paired.device_id}").status == 200
    refused = revoked("sync")
    assert refused.code == 1 and "403" in refused.err and paired.token not in refused.err
    assert_problem(paired.get("/v1/devices"), 403)
