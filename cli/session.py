"""The CLI's composition root: opens the store once per run and knows this device.

Everything heavy is imported here, lazily, when a command first needs the
store. The device id lives in ``BACKSTORY_HOME/device.json`` (made on first
use); the remote's URL and token in ``BACKSTORY_HOME/remote.json`` (mode 600). The home is made 0700.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


def local_timezone() -> str:
    """The system's IANA time zone name, or UTC when it cannot be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        try:
            ZoneInfo(tz)
            return tz
        except Exception:
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            ZoneInfo(name)
            return name
    except Exception:
        pass
    return "UTC"


class SettingsError(Exception):
    """A setting file of this device (remote.json, device.json) that cannot be used: names the file and the fix."""

    kind = "bad setting"


def check_remote(url: Any, token: Any) -> str | None:
    """What is wrong with a remote's URL or token, or None (the token's form only; see ``TOKEN_FORM``)."""
    from domain.accounts import TOKEN_FORM, device_of_token

    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return "the URL must start with http:// or https://"
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as e:
        return f"the URL is not usable ({e})"
    if not parts.hostname or any(c.isspace() for c in url):
        return "the URL must name a host, e.g. https://backstory.example:8080, without spaces"
    if not isinstance(token, str) or device_of_token(token) is None:
        return f"the token is not a backstory device token; its form is {TOKEN_FORM}"
    return None


REMOTE_FIX = "set it again with `backstory remote set URL --token TOKEN`"
DEVICE_FIX = ("restore it, or remove the file if this store holds no changes yet (the id names this device's "
              "changes)")


def _read_json(path: Path, fix: str) -> Any:
    """A setting file's JSON; None when it does not exist; SettingsError when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise SettingsError(f"{path}: cannot be read ({e}); {fix}") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise SettingsError(f"{path}: not valid JSON ({e}); {fix}") from None


def _write_private(path: Path, data: dict) -> None:
    from service.config import private_dir

    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    tmp.replace(path)


@dataclass
class Session:
    """One CLI run: the store URL, the opened application, this device."""

    db: str | None = None
    _app: Any = field(default=None, repr=False)

    @property
    def home(self) -> Path:
        from service.config import home_dir

        return home_dir()

    @property
    def url(self) -> str:
        from service.config import resolve_url

        return resolve_url(self.db)

    @property
    def app(self):
        if self._app is None:
            from service.application import open_app

            self._app = open_app(self.url)
            self.warn_permissions()
        return self._app

    def warn_permissions(self) -> None:
        """Name on stderr each store file or data directory other users can read, and the fix."""
        import click

        from service.config import permission_warnings

        for line in permission_warnings(self.url):
            click.echo(f"backstory: warning: {line}", err=True)

    # ----- this device ---------------------------------------------------------------------

    def remote_config(self) -> dict | None:
        """The remote's URL and token, or None when none is set; a damaged remote.json is an error naming it."""
        path = self.home / "remote.json"
        config = _read_json(path, REMOTE_FIX)
        if config is None:
            return None
        if not isinstance(config, dict):
            raise SettingsError(f"{path}: expected an object with url and token; {REMOTE_FIX}")
        problem = check_remote(config.get("url"), config.get("token"))
        if problem:
            raise SettingsError(f"{path}: {problem}; {REMOTE_FIX}")
        return config

    def set_remote(self, url: str, token: str) -> None:
        """Keep the URL and token; a token of another device than before (paired again) numbers its seqs anew."""
        from domain.accounts import device_of_token

        try:
            old = self.remote_config() or {}
        except SettingsError:
            old = {}  # a damaged remote.json is what `remote set` mends
        shift = old.get("seq_shift", 0)
        if old.get("token") and device_of_token(old["token"]) != device_of_token(token):
            shift = self.device.outbox().acked_seq  # the new device's seq 1 is the outbox's next unanswered one
        _write_private(self.home / "remote.json", {"url": url, "token": token, **({"seq_shift": shift} if shift else {})})

    def mark_revoked(self) -> None:
        """Remember that the server refused this device's token (403), until ``remote set`` gives a new one."""
        config = self.remote_config()
        if config and not config.get("revoked_at"):
            _write_private(self.home / "remote.json", {**config, "revoked_at": self.now().isoformat()})

    def revoked_notice(self) -> str | None:
        """What a revoked device says with every change it records: where the change stays, and the way back."""
        config = self.remote_config()
        if not config or not config.get("revoked_at"):
            return None
        from service.wording import local

        refused = local(config["revoked_at"], self.timezone())
        return (f"this device's token was revoked (the server refused it at {refused}): changes "
                f"stay on this device "
                f"only until it is paired again (on a working device: `backstory device pair NAME`, or ask the "
                f"server's operator for `backstory account token ACCOUNT`; then here `backstory remote set URL "
                f"--token NEW_TOKEN` and `backstory sync`)")

    def remote(self):
        from service.remote import HttpRemote

        config = self.remote_config()
        if not config:
            from domain.errors import NotFound

            raise NotFound("remote", "no remote is set; use `backstory remote set URL --token TOKEN`")
        return HttpRemote(config["url"], config["token"], seq_shift=int(config.get("seq_shift") or 0))

    def device_id(self) -> str:
        """The device named by the remote's token; before a remote is set, the one in device.json (made once)."""
        config = self.remote_config()
        if config:
            from domain.accounts import device_of_token  # its aggregates cost a read without a remote ~15 ms

            return str(device_of_token(config["token"]))
        path = self.home / "device.json"
        found = _read_json(path, DEVICE_FIX)
        if found is None:
            device = f"cli-{uuid.uuid4().hex[:12]}"
            _write_private(path, {"device_id": device})
            return device
        device = found.get("device_id") if isinstance(found, dict) else None
        if not isinstance(device, str) or not device.strip() or len(device) > 200:
            # never replaced silently: the id names this device's own changes in the store
            raise SettingsError(f"{path}: expected {{\"device_id\": \"...\"}}; {DEVICE_FIX}")
        return device

    @property
    def device(self):
        from service.device import DeviceStore

        return DeviceStore(self.app, self.device_id())

    # ----- reading and writing ---------------------------------------------------------------

    @property
    def ledger(self):
        """The program as stored: this device's own until it is linked, then the replica."""
        device = self.device
        outbox = device.outbox()
        return device.replica(outbox) if outbox.linked else device.local

    def reader(self):
        """What reads see: the stored program plus, once linked, the mutations still in the outbox."""
        return self.device.reader()

    def timezone(self) -> ZoneInfo:
        program = self.reader().program()
        return ZoneInfo(program.view().timezone if program else local_timezone())

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def mutate(self, mutation_type: str, args: dict[str, Any], at: datetime | None = None) -> dict:
        from cli.wire import check_args
        from service.device import new_mutation

        args = {k: v for k, v in args.items() if v not in (None, (), [])}
        check_args(args)
        result = self.device.mutate(new_mutation(mutation_type, args, at or self.now(), self.device_id()))
        notice = self.revoked_notice()
        if notice:
            import click

            click.echo(f"backstory: warning: {notice}", err=True)
        return result
