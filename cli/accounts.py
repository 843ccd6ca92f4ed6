"""The server operator's commands on accounts (``backstory account ...``, run on the server's store).

``create`` makes an account and its first device; ``devices`` lists an
account's devices, who paired each and who revoked it; ``token`` pairs a new
device and prints its token once (the way back into an account whose devices
were lost or revoked); ``revoke`` revokes a device (a stolen one, say).
"""

from __future__ import annotations

from datetime import UTC, tzinfo

import click

from cli.options import emit, json_option
from cli.render import local


def who(by: str | None, name: str | None = None) -> str:
    if by is None or by == "operator":
        return "the server's operator" if by else "unknown"
    return f"{name} ({by[:8]})" if name else by[:8]


def device_line(d: dict, zone: tzinfo | None = None) -> str:
    """A device, who paired it and when it was revoked: in ``zone`` (a device's program), else in UTC, said so."""
    line = f"{d['device_id']}  {d['name']}" + ("  (this device)" if d.get("current") else "")
    if d.get("paired_by"):
        line += f"  paired by {who(d['paired_by'])}"
    if d.get("revoked_at"):
        at = local(d["revoked_at"], zone) if zone else local(d["revoked_at"], UTC) + " UTC"
        line += f"  (revoked {at}" + (f" by {who(d['revoked_by'])})" if d.get("revoked_by") else ")")
    return line


@click.group()
def account():
    """Server side: accounts in this store (--db / BACKSTORY_DB)."""


@account.command(name="create")
@click.argument("name")
@json_option
@click.pass_obj
def account_create(session, name, as_json):
    """Create an account and its first device; the token is printed once."""
    from service.accounts import create_account

    emit(create_account(session.app, name), as_json,
         lambda d: f"account {d['account_id']}\ndevice {d['device_id']}\ntoken (shown once): {d['token']}")


@account.command(name="devices")
@click.argument("account_name", metavar="ACCOUNT")
@json_option
@click.pass_obj
def account_devices(session, account_name, as_json):
    """List an account's devices (ACCOUNT: its name or id): who paired each, who revoked it."""
    from service.accounts import operator_devices

    emit(operator_devices(session.app, account_name), as_json,
         lambda d: "\n".join([f"account {d['account_id']}  {d['name']}", *map(device_line, d["devices"])]))


@account.command(name="token")
@click.argument("account_name", metavar="ACCOUNT")
@click.option("--device-name", default="recovered device", show_default=True, help="The new device's name.")
@json_option
@click.pass_obj
def account_token(session, account_name, device_name, as_json):
    """Pair a new device with an account (ACCOUNT: its name or id) and print its token once.

    The way back into an account whose devices were lost or revoked: give the
    token to its owner, who runs `backstory remote set URL --token TOKEN`.
    """
    from service.accounts import operator_token

    emit(operator_token(session.app, account_name, device_name), as_json,
         lambda d: f"account {d['account_id']}\ndevice {d['device_id']} paired\ntoken (shown once): {d['token']}")


@account.command(name="revoke")
@click.argument("account_name", metavar="ACCOUNT")
@click.argument("device_id")
@click.pass_obj
def account_revoke(session, account_name, device_id):
    """Revoke a device of an account (ACCOUNT: its name or id), say a stolen one; no confirmation needed."""
    from service.accounts import operator_revoke

    operator_revoke(session.app, account_name, device_id)
    click.echo(f"device {device_id} revoked")



COMMANDS = [account]
