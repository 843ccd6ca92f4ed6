"""The dashboard's sessions: a random cookie naming a server-side row, refused once ended, expired or revoked.

The cookie's value is 256 random bits (``secrets.token_urlsafe(32)``), made at
sign-in; the server keeps only its SHA-256, in ``proj_web_sessions`` in the
store's own database (every worker and every restart sees it), with the device
it was opened by, that account's program, a CSRF token and its expiry. So:

- a forged or tampered cookie names no row: refused;
- sign-out deletes the row: the cookie is dead everywhere, even a copy of it;
- every request checks the device in the event store: once the device is revoked
  (or the store no longer knows it), its sessions are refused and deleted;
- a session lasts ``SESSION_SECONDS`` at most, whatever the browser does.

No signing key is needed: nothing in the cookie is trusted but its being the
secret of a row. The device token is read once, at sign-in, from a POST body,
and kept nowhere.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select

from projections.engine import make_engine, retrying, writer
from service.accounts import Principal
from service.application import BackstoryApp, program_id_for

#: How long a session lasts from sign-in, in seconds (12 hours).
SESSION_SECONDS = 12 * 3600

metadata = MetaData()
web_sessions = Table(
    "proj_web_sessions", metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("device_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str


class Sessions:
    """The session rows of one store; made once per app, its table created when missing."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        retrying(lambda: metadata.create_all(writer(self.engine), checkfirst=True))

    def open(self, who: Principal) -> str:
        """A new session of ``who``'s device: the cookie's secret (returned once; only its hash is kept)."""
        secret = secrets.token_urlsafe(32)
        now = time.time()

        def work():
            with writer(self.engine).begin() as conn:
                conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
                conn.execute(insert(web_sessions).values(
                    session_hash=_hash(secret), device_id=str(who.device_id), account_id=str(who.account_id),
                    csrf=secrets.token_urlsafe(32), expires_at=now + SESSION_SECONDS))

        retrying(work)
        return secret

    def find(self, app: BackstoryApp, secret: str | None) -> Session | None:
        """The live session whose cookie is ``secret``; None when there is none, it expired or its device is revoked."""
        if not secret or len(secret) > 100:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(web_sessions).where(web_sessions.c.session_hash == _hash(secret))
                               ).mappings().first()
        if row is None:
            return None
        if row["expires_at"] < time.time() or not _device_working(app, row["device_id"], row["account_id"]):
            self.end(secret)
            return None
        account_id = UUID(row["account_id"])
        who = Principal(account_id, UUID(row["device_id"]), program_id_for(str(account_id)))
        return Session(who, row["csrf"])

    def end(self, secret: str | None) -> None:
        if not secret:
            return

        def work():
            with writer(self.engine).begin() as conn:
                conn.execute(delete(web_sessions).where(web_sessions.c.session_hash == _hash(secret)))

        retrying(work)

    def close(self) -> None:
        self.engine.dispose()


def _device_working(app: BackstoryApp, device_id: str, account_id: str) -> bool:
    """Whether the device is still one of the account's, not revoked, read from the event store."""
    from service.accounts import find_device

    try:
        device = find_device(app, UUID(device_id))
    except ValueError:
        return False
    return device is not None and not device.revoked and device.account_id == account_id
