"""Commands of the CLI as a syncing device (remote, sync, device), and of the server (serve, projections)."""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial

import click

from cli import render
from cli.accounts import device_line, who
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
    """Set the server URL and this device's token (checked with the server when it can be reached)."""
    from cli.session import check_remote

    problem = check_remote(url, token)
    if problem:
        raise click.BadParameter(problem, param_hint="URL" if problem.startswith("the URL") else "--token")
    warning = _check_token(url, token)
    session.set_remote(url, token)
    if warning:
        click.echo(f"backstory: warning: {warning}", err=True)
    click.echo(f"remote set to {url}; run `backstory sync` to push and pull")


def _check_token(url: str, token: str) -> str | None:
    """Ask the server whether the token works (one cheap authenticated read); a warning when it cannot tell."""
    from domain.errors import Refused
    from service.remote import HttpRemote, RemoteError

    try:
        status, body = HttpRemote(url, token, timeout=10).request("GET", "/v1/devices")
    except RemoteError as e:
        return f"{e}; the token was not checked, `backstory sync` will tell"
    if status in (401, 403):
        detail = (body or {}).get("detail") if isinstance(body, dict) else None
        raise Refused("token_refused", f"the server at {url} refuses this token ({status}"
                                       f"{': ' + detail if detail else ''}); nothing was set. Check it, or pair "
                                       "this device again with `backstory device pair NAME` on a working device")
    if status != 200:
        return f"the server at {url} answered {status} to a check of the token; `backstory sync` will tell"
    return None


def _sync_text(r: dict) -> str:
    lines = [f"pushed {r['pushed']}: applied {r['applied']}, duplicate {r['duplicate']}, "
             f"conflict {r['conflict']}, rejected {r['rejected']}; pulled {r['pulled']} entries"]
    lines += [f"  conflict ({c['conflict']['exercise'] or 'the program'}): {c['reason']}" for c in r["conflicts"]]
    lines += [f"  rejected (change {x['seq']} of this device): {x.get('reason')}" for x in r["rejections"]]
    if r["conflicts"]:
        lines.append("  `backstory conflicts` lists them by number; `backstory resolve N` decides")
    if r.get("renumbered"):
        lines.append(f"  {r['renumbered']} pending changes were sent again under new seqs: the server held their "
                     "seqs from other changes of this device (a restored copy of this home, or another home with "
                     "the same token); nothing was lost")
    if r["rejections"]:
        lines.append("  rejected changes are not applied; `backstory conflicts` lists them")
    lines += [f"  device {d['name']} {d['action']} by {d.get('by_name') or who(d['by'])}"
              for d in r.get("devices", [])]
    if r.get("behind"):
        lines.append(f"  the server has not fed {r['behind']} stored events to its feed yet: what you pushed is "
                     f"stored; run `backstory sync` again in a moment to pull the newest")
    return "\n".join(lines)


@contextmanager
def _noting_revocation(session):
    """A 403 from the server means this device's token was revoked: remember it, and say what that means."""
    from service.remote import RemoteError

    try:
        yield
    except RemoteError as e:
        if e.status != 403:
            raise
        session.mark_revoked()
        raise RemoteError(f"{e}; {session.revoked_notice()}", 403, e.body) from None


@click.command()
@json_option
@click.pass_obj
def sync(session, as_json):
    """Push this device's pending changes and pull everyone else's."""
    with _noting_revocation(session):
        report = session.device.sync(session.remote())
    emit(report, as_json, _sync_text)


@click.group()
def device():
    """Pair, list and revoke devices (needs a remote)."""


@device.command(name="pair")
@click.argument("name")
@json_option
@click.pass_obj
def device_pair(session, name, as_json):
    """Pair a new device; its token is shown once."""
    with _noting_revocation(session):
        paired = session.remote().pair(name)
    emit(paired, as_json, lambda d: f"device {d['device_id']} paired\ntoken (shown once): {d['token']}")


@device.command(name="list")
@json_option
@click.pass_obj
def device_list(session, as_json):
    """List this account's devices: who paired each, and who revoked it."""
    with _noting_revocation(session):
        data = session.remote().devices()
    rows = data.get("devices", data) if isinstance(data, dict) else data
    zone = None if as_json else session.timezone()
    emit({"devices": rows}, as_json, lambda _: "\n".join(device_line(d, zone) for d in rows))


@device.command(name="revoke")
@click.argument("device_id")
@click.option("--yes", is_flag=True, help="Revoke even this device, the device that paired it, or the last other one.")
@click.pass_obj
def device_revoke(session, device_id, yes):
    """Revoke a device: its token stops working at once.

    Revoking the device you are using, the device that paired it, or the
    account's last other working device needs --yes.
    """
    import uuid

    from domain.errors import Refused
    from service.remote import RemoteError

    try:
        device_id = str(uuid.UUID(device_id))
    except ValueError:
        raise click.BadParameter("a device id (from `backstory device list`)", param_hint="DEVICE_ID") from None
    own = device_id == session.device_id()
    if own and not yes:
        raise click.UsageError(f"{device_id} is the device you are using: once revoked it cannot sync, and what "
                               f"you record here stays on it until it is paired again; add --yes to revoke it")
    remote = session.remote()
    with _noting_revocation(session):
        try:
            remote.revoke(device_id)
        except RemoteError as e:
            if e.status != 409 or "confirm" not in e.body:
                raise
            if not yes:
                reasons = "; ".join(e.body.get("reasons") or [])
                raise Refused("confirmation_required", f"revoking {device_id} needs a confirmation ({reasons}); "
                                                       f"nothing was changed: add --yes to revoke it") from None
            remote.revoke(device_id, confirm=e.body["confirm"])
    if own:
        session.mark_revoked()
    click.echo(f"device {device_id} revoked" + ("; this device can no longer sync" if own else ""))


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
    """Run the sync API and the web dashboard on a production WSGI server (gunicorn).

    Put it behind a reverse proxy that terminates TLS and buffers requests on
    the internet (README, Reliability). BACKSTORY_OPERATOR_TOKEN (16 characters
    or more) lets /readyz show the projections' lag to whoever sends it. The
    dashboard is at / (sign in with a device token); BACKSTORY_SECURE_COOKIE=1
    makes its cookies Secure behind a proxy that ends TLS.
    """
    from api.serve import ServerConfigError
    from api.serve import serve as run_server
    from service.store_check import check_store

    check_store(session.url)  # a foreign or newer store is refused before anything else is said
    session.warn_permissions()
    try:
        run_server(host=host, port=port, workers=workers, db_url=session.url, proxies=proxies, threads=threads)
    except ServerConfigError as e:
        raise click.ClickException(str(e)) from None


@click.command()
@json_option
@click.pass_obj
def conflicts(session, as_json):
    """Conflicts kept by the server, and the changes it rejected (with the reason)."""
    log = session.reader().conflict_log()
    data = {"conflicts": render.conflict_rows({"conflicts": list(log.conflicts.values()) if log else []}),
            "rejected": session.device.rejected()}
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
    from service.logs import configure

    configure()  # the server's line format: time, level, component, pid
    # Not niced: at nice 10 on a busy machine the follower got a few percent of a CPU and fell tens of
    # thousands of events behind the pushes, and requests (which now catch up only a bounded number) rely on it.
    p = Projections(session.app, session.url)
    follower = Follower(session.app.recorder, p.catch_up)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: follower.stop(timeout=0))
    try:
        follower.run()
    finally:
        p.close()


COMMANDS = [remote, sync, device, serve, conflicts, resolve, projections]
