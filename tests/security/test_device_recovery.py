"""A stolen token cannot quietly lock an account out, and the operator can always bring it back.

Issue 10 item 5, on the real server of each backend: a device revoking the device that paired it, or
the last other working device, is answered 409 ``confirmation-required`` and nothing changes until
it sends ``?confirm=<that device's id>``; every pairing and revocation is in the account's feed,
saying who did it; the operator (``backstory account devices|token|revoke`` on the server's store,
the real CLI) lists the devices, issues a new token that works, and revokes the stolen device.

Issue 9 item 15, with CLI devices: revoking the device you are using asks for ``--yes``; revoking
the device that paired yours asks for it too; a device that got 403 says with every change it
records that the change stays on it until it is paired again, and how; paired again (``remote set``
with a new token), it pushes those changes under its new device.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Cli
from tests.security._support import Device, assert_problem

pytestmark = pytest.mark.timeout(600)


def assert_program_time(shown: str) -> None:
    """A time a device printed is its program's (Kiritimati's) wall time of about now, to the minute."""
    at = datetime.fromisoformat(shown).replace(tzinfo=ZoneInfo("Pacific/Kiritimati"))
    assert len(shown) == 16 and abs(at - datetime.now(UTC)) < timedelta(minutes=5), shown


def devices_entries(device: Device) -> list[tuple[str, str, str | None]]:
    entries, _ = device.pull_all()
    return [(e["data"]["action"], e["data"]["device"], e["data"]["by"]) for e in entries if e["kind"] == "device"]


def test_revoking_the_pairing_or_last_device_needs_a_confirmation_and_the_operator_brings_the_account_back(
        server, tmp_path):
    phone = Device.new_account(server, "recovery owner")
    stolen = phone.pair("tablet")
    laptop = phone.pair("laptop")
    before = phone.get("/v1/devices").json()

    # the device that paired the thief's tablet: only with a confirmation
    refused = assert_problem(stolen.call("DELETE", f"/v1/devices/{phone.device_id}"), 409)
    assert refused["type"].endswith("/confirmation-required") and refused["confirm"] == phone.device_id
    assert any("paired" in r for r in refused["reasons"]) and f"confirm={phone.device_id}" in refused["detail"]
    assert phone.get("/v1/devices").json() == before  # nothing changed
    assert stolen.call("DELETE", f"/v1/devices/{laptop.device_id}").status == 200  # the phone is still there
    last = assert_problem(stolen.call("DELETE", f"/v1/devices/{phone.device_id}"), 409)
    assert any("last working device" in r for r in last["reasons"])
    wrong = assert_problem(stolen.call("DELETE", f"/v1/devices/{phone.device_id}?confirm={laptop.device_id}"), 409)
    assert wrong["confirm"] == phone.device_id  # another device's id confirms nothing
    assert phone.get("/v1/devices").status == 200
    assert stolen.call("DELETE", f"/v1/devices/{phone.device_id}?confirm={phone.device_id}").status == 200
    assert_problem(phone.get("/v1/devices"), 403)

    # every device sees who paired and revoked what
    assert devices_entries(stolen) == [
        ("paired", phone.device_id, "operator"), ("paired", stolen.device_id, phone.device_id),
        ("paired", laptop.device_id, phone.device_id), ("revoked", laptop.device_id, stolen.device_id),
        ("revoked", phone.device_id, stolen.device_id)]

    # the operator, on the server's store
    operator_home = tmp_path / "operator"
    operator_home.mkdir(mode=0o700)
    operator = Cli(operator_home, server.db_url)
    listed = operator.ok("account", "devices", "recovery owner", "--json").json()
    assert listed["account_id"] == phone.account_id
    assert {d["device_id"]: (d["revoked_by"], d["paired_by"]) for d in listed["devices"]} == {
        phone.device_id: (stolen.device_id, "operator"), stolen.device_id: (None, phone.device_id),
        laptop.device_id: (stolen.device_id, phone.device_id)}
    text = operator.ok("account", "devices", phone.account_id).out
    assert "revoked" in text and stolen.device_id[:8] in text
    made = operator.ok("account", "token", "recovery owner", "--device-name", "new phone", "--json").json()
    assert made["token"].startswith("bs1_") and made["account_id"] == phone.account_id
    again = Device(server.url, made["token"], made["device_id"], phone.account_id)
    assert again.get("/v1/devices").status == 200
    operator.ok("account", "revoke", "recovery owner", stolen.device_id)  # no confirmation for the operator
    assert_problem(stolen.get("/v1/devices"), 403)
    assert devices_entries(again)[-2:] == [("paired", again.device_id, "operator"),
                                           ("revoked", stolen.device_id, "operator")]
    assert operator("account", "token", "nobody such").code == 1
    assert operator.ok("account", "token", "recovery owner").out.count("bs1_") == 1  # printed once


def test_the_delete_operation_documents_its_confirmation(spec):
    delete = spec["paths"]["/v1/devices/{device_id}"]["delete"]
    assert "409" in delete["responses"] and "?confirm=" in delete["description"]
    assert [p["name"] for p in delete["parameters"] if p["in"] == "query"] == ["confirm"]


def test_a_cli_device_asks_before_revoking_itself_and_a_revoked_one_says_its_changes_stay_local(server, tmp_path):
    owner = Device.new_account(server, "cli revocations")
    homes = {name: tmp_path / name for name in ("phone", "tablet")}
    for home in homes.values():
        home.mkdir(mode=0o700)
    phone, tablet = (Cli(home, None) for home in homes.values())
    phone.ok("remote", "set", server.url, "--token", owner.token)
    phone.ok("init", "--name", "Sam", "--timezone", "Pacific/Kiritimati")  # UTC+14: its times are never UTC's
    phone.ok("sync")

    own = phone("device", "revoke", owner.device_id)
    assert own.code == 2 and "--yes" in own.err and "device you are using" in own.err, own
    paired = phone.ok("device", "pair", "tablet", "--json").json()
    tablet.ok("remote", "set", server.url, "--token", paired["token"])
    tablet.ok("sync")
    asked = tablet("device", "revoke", owner.device_id)
    assert asked.code == 1 and "--yes" in asked.err and "paired" in asked.err and "Traceback" not in asked.err, asked
    assert phone.ok("sync").code == 0  # nothing was revoked
    assert "revoked" in tablet.ok("device", "revoke", owner.device_id, "--yes").out

    refused = phone("sync")
    assert refused.code == 1 and "403" in refused.err and "paired again" in refused.err, refused
    for args in (("checkin", "--pain", "3"), ("checkin", "--pain", "4")):
        recorded = phone.ok(*args)
        assert "stays on this device" in recorded.err or "stay on this device" in recorded.err, recorded.err
        assert "backstory remote set URL --token" in recorded.err and "account token" in recorded.err
        assert_program_time(re.search(r"refused it at (\S+)\)", recorded.err).group(1))  # issue 9 item 11
    listed = tablet.ok("device", "list").out
    assert "revoked" in listed and f"by {paired['device_id'][:8]}" in listed, listed
    assert_program_time(re.search(r"\(revoked (\S+) by", listed).group(1))
    synced = tablet.ok("sync").out  # the feed tells every device who revoked what
    assert "device first device revoked by tablet" in synced, synced  # names, not ids
    new = Device(server.url, paired["token"], paired["device_id"], owner.account_id).pair("phone again")
    phone.ok("remote", "set", server.url, "--token", new.token)
    assert phone.ok("checkin", "--pain", "2").err == ""  # paired again: no more warning
    # its changes made while revoked, numbered after the old device's seqs, reach the server under the new one
    assert "pushed 3: applied 3" in phone.ok("sync").out
    assert "pushed 1: applied 1" in (phone.ok("checkin", "--pain", "1"), phone.ok("sync"))[1].out
