"""Commands of the CLI as a syncing device, and of the server side (accounts, serve, projections)."""

from __future__ import annotations

from functools import partial

import click

from cli import render
from cli.decide import _run
from cli.options import at_option, emit, json_option


@click.group()
def remote():
    """The server this CLI syncs with."""


@remote.command(name="set")
@click.argument("url")
@click.option("--token", required=True, help="This device's token (from `account create` or `device pair`).")
@click.pass_obj
def remote_set(session, url, token):
    """Set the server URL and this device's token."""
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("the URL must start with http:// or https://", param_hint="URL")
    if not token.startswith("bs1_"):
        raise click.BadParameter("this is not a backstory device token (bs1_...)", param_hint="--token")
    session.set_remote(url, token)
    click.echo(f"remote set to {url}; run `backstory sync` to push and pull")


def _sync_text(r: dict) -> str:
    lines = [f"pushed {r['pushed']}: applied {r['applied']}, duplicate {r['duplicate']}, "
             f"conflict {r['conflict']}, rejected {r['rejected']}; pulled {r['pulled']} entries"]
    lines += [f"  conflict ({c['conflict']['exercise'] or 'the program'}): {c['reason']}" for c in r["conflicts"]]
    lines += [f"  rejected (change {x['seq']} of this device): {x.get('reason')}" for x in r["rejections"]]
    if r["conflicts"]:
        lines.append("  `backstory conflicts` lists them by number; `backstory resolve N` decides")
    return "\n".join(lines)


@click.command()
@json_option
@click.pass_obj
def sync(session, as_json):
    """Push this device's pending changes and pull everyone else's."""
    emit(session.device.sync(session.remote()), as_json, _sync_text)


@click.group()
def device():
    """Pair, list and revoke devices (needs a remote)."""


@device.command(name="pair")
@click.argument("name")
@json_option
@click.pass_obj
def device_pair(session, name, as_json):
    """Pair a new device; its token is shown once."""
    emit(session.remote().pair(name), as_json,
         lambda d: f"device {d['device_id']} paired\ntoken (shown once): {d['token']}")


@device.command(name="list")
@json_option
@click.pass_obj
def device_list(session, as_json):
    """List this account's devices."""
    data = session.remote().devices()
    rows = data.get("devices", data) if isinstance(data, dict) else data
    emit({"devices": rows}, as_json, lambda _: "\n".join(
        f"{d['device_id']}  {d['name']}" + ("  (revoked)" if d.get("revoked_at") else "") for d in rows))


@device.command(name="revoke")
@click.argument("device_id")
@click.pass_obj
def device_revoke(session, device_id):
    """Revoke a device: its token stops working at once."""
    session.remote().revoke(device_id)
    click.echo(f"device {device_id} revoked")


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


def _proxies(_ctx, _param, value: str | None) -> str | None:
    if value:
        from api.forwarded import parse_networks

        try:
            parse_networks(value)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
    return value


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Server processes (use PostgreSQL for more than 1).")
@click.option("--threads", type=click.IntRange(1, 15), envvar="BACKSTORY_THREADS",
              help="Requests each process serves at once (at most 15: a store's connection pool). "
                   "Default 8; on SQLite with several workers, 1.")
@click.option("--proxy", "proxies", metavar="ADDRESSES", envvar="BACKSTORY_TRUSTED_PROXIES", callback=_proxies,
              help="The reverse proxies in front, comma separated (addresses or networks, e.g. 127.0.0.1,10.0.0.0/8): "
                   "their X-Forwarded-For names the client whose failed logins are limited.")
@click.pass_obj
def serve(session, host, port, workers, threads, proxies):
    """Run the sync API on a production WSGI server (gunicorn).

    Put it behind a reverse proxy that terminates TLS and buffers requests on
    the internet (README, Reliability). BACKSTORY_OPERATOR_TOKEN (16 characters
    or more) lets /readyz show the projections' lag to whoever sends it.
    """
    from api.serve import ServerConfigError
    from api.serve import serve as run_server

    try:
        run_server(host=host, port=port, workers=workers, db_url=session.url, proxies=proxies, threads=threads)
    except ServerConfigError as e:
        raise click.ClickException(str(e)) from None


@click.command()
@json_option
@click.pass_obj
def conflicts(session, as_json):
    """Conflicts kept by the server: decisions that met a program that had moved on."""
    log = session.reader().conflict_log()
    data = {"conflicts": render.conflict_rows({"conflicts": list(log.conflicts.values()) if log else []})}
    tz = session.timezone()
    emit(data, as_json, partial(render.conflicts, zone=tz), table="conflicts", zone=tz)


@click.command()
@click.argument("conflict")
@click.option("--keep-current", is_flag=True, help="Keep the program as it is.")
@click.option("--apply-mine", is_flag=True, help="Apply the conflicted decision now.")
@at_option
@json_option
@click.pass_obj
def resolve(session, conflict, keep_current, apply_mine, at, as_json):
    """Resolve a conflict (its number in `backstory conflicts`, or an id prefix) by a new decision."""
    if keep_current == apply_mine:
        raise click.UsageError("give exactly one of --keep-current or --apply-mine")
    if conflict.strip().isdigit() and len(conflict.strip()) < 4:  # a number from the listing; ids need 4+ characters
        log = session.reader().conflict_log()
        listed = list(log.conflicts.values()) if log else []
        if not listed:
            raise click.BadParameter("there are no conflicts", param_hint="CONFLICT")
        if not 1 <= int(conflict) <= len(listed):
            raise click.BadParameter(f"there are {len(listed)} conflicts; give a number from 1 to {len(listed)} "
                                     "(see `backstory conflicts`) or an id prefix", param_hint="CONFLICT")
        conflict = listed[int(conflict) - 1]["id"]
    _run(session, "resolve", {"conflict": conflict, "keep_current": keep_current or None,
                              "apply_mine": apply_mine or None}, at, as_json)


@click.group()
def projections():
    """The SQL read models: their position and lag, or a rebuild from the events."""


@projections.command(name="status")
@json_option
@click.pass_obj
def projections_status(session, as_json):
    from projections import Projections

    p = Projections(session.app, session.url)
    try:
        rows = p.status()
    finally:
        p.close()
    emit({"projections": rows}, as_json, lambda d: "\n".join(
        f"{r['name']:<12} position {r['position']:>8}  head {r['head']:>8}  lag {r['lag']}" for r in d["projections"]))


@projections.command(name="rebuild")
@click.pass_obj
def projections_rebuild(session):
    from projections import Projections

    p = Projections(session.app, session.url)
    try:
        p.rebuild()
        rows = p.status()
    finally:
        p.close()
    click.echo("rebuilt: " + ", ".join(f"{r['name']} at {r['position']}" for r in rows))


@projections.command(name="follow")
@click.pass_obj
def projections_follow(session):
    """Keep the read models caught up as events commit (PostgreSQL), until stopped.

    `backstory serve` runs this beside its workers; run it yourself next to a
    plain gunicorn command. SQLite has no notifications: there the read models
    catch up whenever they are read.
    """
    import signal

    from projections import Projections
    from projections.live import Follower
    from service.config import StoreConfigError, parse_store

    if parse_store(session.url).is_sqlite:
        raise StoreConfigError("projections follow needs PostgreSQL (LISTEN/NOTIFY); on SQLite the read models "
                               "catch up when they are read")
    import os

    from service.logs import configure

    configure()  # the server's line format: time, level, component, pid
    os.nice(10)  # projection work yields the CPU to request workers; readers catch up before they read anyway
    p = Projections(session.app, session.url)
    follower = Follower(session.app.recorder, p.catch_up)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: follower.stop(timeout=0))
    try:
        follower.run()
    finally:
        p.close()


COMMANDS = [remote, sync, device, account, serve, conflicts, resolve, projections]
