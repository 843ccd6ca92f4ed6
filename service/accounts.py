"""Accounts, devices and their tokens: who is asking, and for which program.

A token is ``bs1_<device id>_<secret>`` with 256 random bits of secret. Only
its SHA-256 is stored (a random secret of that size needs no slow hash); it is
compared in constant time. A token reaches only its own account's program.

The server's operator works on the store directly (``backstory account ...``):
it finds an account by name or id, lists its devices, issues a new device token
(the way back into an account whose devices were all revoked) and revokes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.accounts import OPERATOR, TOKEN_PREFIX, Account, Device, device_of_token
from domain.errors import NotFound, Refused
from service.application import BackstoryApp, Ledger, program_id_for

DEVICE_PAIRED = "domain.accounts:Device.Paired"
ACCOUNT_OPENED = "domain.accounts:Account.Opened"


class AuthError(Exception):
    """A request whose token is missing, malformed, unknown (401) or revoked (403)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Principal:
    """The device a request comes from, and the account and program it may reach."""

    account_id: UUID
    device_id: UUID
    program_id: UUID

    def ledger(self, app: BackstoryApp) -> Ledger:
        return app.ledger(self.program_id)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token(device_id: UUID) -> str:
    return f"{TOKEN_PREFIX}_{device_id.hex}_{secrets.token_urlsafe(32)}"


def _is_device(app: BackstoryApp, stream_id: UUID) -> bool:
    """Whether a stream is a device's, read from its first record only (never load another aggregate)."""
    first = app.recorder.select_events(stream_id, lte=1, limit=1)
    return bool(first) and first[0].topic == DEVICE_PAIRED


def find_device(app: BackstoryApp, device_id: UUID | None) -> Device | None:
    """The device with this id (revoked or not), or None when no device stream has it."""
    return app.find(device_id) if device_id and _is_device(app, device_id) else None


def create_account(app: BackstoryApp, name: str, device_name: str = "first device") -> dict:
    """A new account with its program id and a first device; the token is returned once."""
    account_id, device_id = uuid.uuid4(), uuid.uuid4()
    account = Account.open(account_id, name, program_id_for(str(account_id)))
    token = _new_token(device_id)
    account.add_device(str(device_id), device_name, OPERATOR)
    device = Device.pair(device_id, account_id, device_name, token_hash(token))
    app.save(account, device)
    return {"account_id": str(account_id), "device_id": str(device_id), "token": token}


def authenticate(app: BackstoryApp, authorization: str | None) -> Principal:
    """The principal behind an ``Authorization: Bearer`` header, or AuthError."""
    if not authorization:
        raise AuthError(401, "missing Authorization: Bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(401, "the Authorization header must be 'Bearer <token>'")
    device_id = device_of_token(token)
    device = find_device(app, device_id)
    if not isinstance(device, Device) or not hmac.compare_digest(device.token_hash, token_hash(token)):
        raise AuthError(401, "the token is not valid")
    if device.revoked:
        raise AuthError(403, "this device has been revoked")
    account_id = UUID(device.account_id)
    return Principal(account_id, device_id, program_id_for(str(account_id)))


def _account(app: BackstoryApp, account_id: UUID) -> Account:
    account = app.find(account_id)
    if not isinstance(account, Account):
        raise NotFound("account", "account not found")
    return account


class PairingLimit(Refused):
    """Pairing one more device would break an account's cap; ``retry_after`` seconds when waiting helps."""

    def __init__(self, rule: str, message: str, retry_after: float | None = None):
        super().__init__(rule, message)
        self.retry_after = retry_after


def _check_pairing(account: Account, max_active: int | None, per_hour: int | None) -> None:
    """The account's caps, counted on the account as stored: a concurrent pairing makes the save retry."""
    devices = account.devices.values()
    active = sum(1 for d in devices if d["revoked_at"] is None)
    if max_active is not None and active >= max_active:
        raise PairingLimit("device_limit", f"this account has {active} active devices, the most it may have; "
                                           "revoke one first (DELETE /v1/devices/ID)")
    if per_hour is not None:
        now = datetime.now(UTC)
        paired = [datetime.fromisoformat(d["paired_at"]) for d in list(devices)[1:]]  # the first came with the account
        recent = sorted(t for t in paired if now - t < timedelta(hours=1))
        if len(recent) >= per_hour:
            wait = (recent[len(recent) - per_hour] + timedelta(hours=1) - now).total_seconds()
            raise PairingLimit("pairing_rate", f"this account paired {len(recent)} devices in the last hour, "
                                               f"the most it may; try again in {max(1, round(wait))} s", wait)


def _pair(app: BackstoryApp, account_id: UUID, name: str, by: str, max_active: int | None = None,
          per_hour: int | None = None) -> dict:
    for _ in range(8):
        account = _account(app, account_id)
        _check_pairing(account, max_active, per_hour)
        device_id = uuid.uuid4()
        token = _new_token(device_id)
        account.add_device(str(device_id), name, by)
        device = Device.pair(device_id, account_id, name, token_hash(token))
        try:
            app.save(account, device)
        except IntegrityError:
            continue
        return {"device_id": str(device_id), "name": device.name, "token": token}  # the name as kept (NFC)
    raise RuntimeError("could not pair the device: the account kept changing")


def _devices(account: Account, current: str | None) -> list[dict]:
    return [{"device_id": did, "name": d["name"], "paired_at": d["paired_at"], "revoked_at": d["revoked_at"],
             "paired_by": d.get("paired_by"), "revoked_by": d.get("revoked_by"), "current": did == current}
            for did, d in account.devices.items()]


def _revoke(app: BackstoryApp, account_id: UUID, device_id: str, by: str, confirmed: bool) -> dict:
    for _ in range(8):
        account = _account(app, account_id)
        if device_id not in account.devices:
            raise NotFound("device", f"device: no device {device_id} in this account")
        device = app.find(UUID(device_id))
        account.revoke_device(device_id, by, confirmed)
        device.revoke()
        try:
            app.save(account, device)
        except IntegrityError:
            continue
        return {"device_id": device_id, "revoked": True}
    raise RuntimeError("could not revoke the device: the account kept changing")


def pair_device(app: BackstoryApp, who: Principal, name: str, max_active: int | None = None,
                per_hour: int | None = None) -> dict:
    """A new device of the caller's account (its token returned once), within the account's caps if given."""
    return _pair(app, who.account_id, name, str(who.device_id), max_active, per_hour)


def list_devices(app: BackstoryApp, who: Principal) -> list[dict]:
    return _devices(_account(app, who.account_id), str(who.device_id))


def revoke_device(app: BackstoryApp, who: Principal, device_id: str, confirmed: bool = False) -> dict:
    """Revoke a device of the caller's account; ``ConfirmationRequired`` when the domain wants it confirmed."""
    return _revoke(app, who.account_id, device_id, str(who.device_id), confirmed)


# ----- the operator, on the server's store ------------------------------------------------------


def find_account(app: BackstoryApp, name_or_id: str) -> Account:
    """The account with this id, or the one account with this name (several: refused, listing their ids)."""
    try:
        account = app.find(UUID(name_or_id))
    except ValueError:
        account = None
    if isinstance(account, Account):
        return account
    found, start = [], 1
    while True:
        notes = app.recorder.select_notifications(start, 1000, topics=[ACCOUNT_OPENED])
        for note in notes:
            opened = app.mapper.to_domain_event(note)
            if opened.name == name_or_id.strip():
                found.append(note.originator_id)
        if len(notes) < 1000:
            break
        start = notes[-1].id + 1
    if not found:
        raise NotFound("account", f"account: no account named {name_or_id!r} (give its name or its id)")
    if len(found) > 1:
        raise Refused("ambiguous_account", f"{len(found)} accounts are named {name_or_id!r}: give one of their "
                                           f"ids: {', '.join(map(str, found))}")
    return _account(app, found[0])


def operator_devices(app: BackstoryApp, name_or_id: str) -> dict:
    account = find_account(app, name_or_id)
    return {"account_id": str(account.id), "name": account.name, "devices": _devices(account, None)}


def operator_token(app: BackstoryApp, name_or_id: str, device_name: str) -> dict:
    """A new device of the account, paired by the operator; its token is returned once."""
    account = find_account(app, name_or_id)
    return {"account_id": str(account.id), **_pair(app, account.id, device_name, OPERATOR)}


def operator_revoke(app: BackstoryApp, name_or_id: str, device_id: str) -> dict:
    account = find_account(app, name_or_id)
    try:
        wanted = str(UUID(device_id))
    except ValueError:
        raise NotFound("device", f"device: no device {device_id!r} in this account") from None
    return {"account_id": str(account.id), **_revoke(app, account.id, wanted, OPERATOR, True)}
