"""Accounts and their devices: who may sync, and each device's place in its push sequence.

An ``Account`` owns one program and lists its devices. A ``Device`` holds
the hash of its token (never the token), whether it was revoked, and the last
``seq`` the server accepted from it, so each device's pushes stay contiguous.
The device's stream is saved in the same transaction as every batch it pushes.

Who paired and who revoked each device is kept (a device id, or ``OPERATOR``
for the server's operator), and a device may revoke the device that paired
it, or leave the account with no other working device, only when it says so
explicitly (``ConfirmationRequired`` names why): a stolen token cannot lock
the owner out by accident of a single request, and the operator can always
bring an account back (``backstory account token``).
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue, Refused
from domain.values import name_text

OPERATOR = "operator"
ACCOUNTS_NAMESPACE = uuid5(NAMESPACE_URL, "https://backstory.invalid/accounts")
TOKEN_PREFIX = "bs1"
#: How a device token looks, for messages about a mistyped one.
TOKEN_FORM = "bs1_<device id: 32 hex digits>_<secret: at least 22 characters>"


def device_of_token(token: str) -> UUID | None:
    """The device id a token names, or None when it is not of the form ``TOKEN_FORM``."""
    parts = token.split("_", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 32 or len(parts[2]) < 22:
        return None
    try:
        return UUID(hex=parts[1])
    except ValueError:
        return None


def account_id_for(name: str) -> UUID:
    return uuid5(ACCOUNTS_NAMESPACE, f"account:{name}")


def _name(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 200 or any(ord(c) < 32 for c in value):
        raise InvalidValue(field, "must be 1 to 200 printable characters")
    return value


def _device_name(field: str, value: str) -> str:
    """A device's name is shown to every device of the account (``device list``, ``sync``): held to the rules of
    exercise names (NFC, no control, bidi or zero-width character, named when refused)."""
    return _name(field, name_text(field, value if isinstance(value, str) else ""))


class ConfirmationRequired(Refused):
    """A revocation that needs the revoking device to confirm it, and why."""

    def __init__(self, device_id: str, reasons: list[str]):
        self.device_id = device_id
        self.reasons = reasons
        super().__init__("confirmation_required", f"revoking device {device_id} needs a confirmation: "
                                                  + "; ".join(reasons))


class Account(Aggregate):
    """An account: its name, its program, its devices."""

    class Opened(Aggregate.Created):
        class_version = 1
        name: str
        program_id: str

    class DeviceAdded(Aggregate.Event):
        class_version = 2
        device_id: str
        name: str
        paired_by: str | None  # the device that paired it, OPERATOR, or None (recorded before v2)

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["paired_by"] = None

        def apply(self, account: Account) -> None:
            account.devices[self.device_id] = {"name": self.name, "paired_at": self.timestamp.isoformat(),
                                               "revoked_at": None, "paired_by": self.paired_by,
                                               "revoked_by": None}

    class DeviceRevoked(Aggregate.Event):
        class_version = 2
        device_id: str
        revoked_by: str | None  # the device that revoked it, OPERATOR, or None (recorded before v2)
        name: str | None  # the revoked device's name, and the revoking one's: the feed tells who revoked what
        by_name: str | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state.update(revoked_by=None, name=None, by_name=None)

        def apply(self, account: Account) -> None:
            account.devices[self.device_id].update(revoked_at=self.timestamp.isoformat(), revoked_by=self.revoked_by)

    def __init__(self, name: str, program_id: str):
        self.name = name
        self.program_id = program_id
        self.devices: dict[str, dict] = {}

    @classmethod
    def open(cls, account_id: UUID, name: str, program_id: UUID) -> Account:
        return cls._create(cls.Opened, id=account_id, name=_name("name", name), program_id=str(program_id))

    def add_device(self, device_id: str, name: str, paired_by: str) -> None:
        self.trigger_event(self.DeviceAdded, device_id=device_id, name=_device_name("name", name), paired_by=paired_by)

    def active(self) -> list[str]:
        """The devices not revoked, in pairing order."""
        return [d for d, v in self.devices.items() if v["revoked_at"] is None]

    def revoke_device(self, device_id: str, by: str, confirmed: bool = False) -> None:
        """Revoke ``device_id`` on behalf of device ``by`` (or ``OPERATOR``).

        A device revoking the device that paired it, or the account's last working
        device other than itself (itself too, when it is the last), must confirm.
        """
        device = self.devices.get(device_id)
        if device is None:
            raise Refused("unknown_device", f"no device {device_id} in this account")
        if device["revoked_at"] is not None:
            raise Refused("device_revoked", f"device {device_id} is already revoked")
        reasons = []
        if by != OPERATOR:
            if self.devices.get(by, {}).get("paired_by") == device_id:
                reasons.append(f"it paired the device revoking it ({by})")
            left = [d for d in self.active() if d not in (device_id, by)]
            if not left:
                reasons.append("the account would have no working device left" if by == device_id else
                               "it is the account's last working device other than the one revoking it")
        if reasons and not confirmed:
            raise ConfirmationRequired(device_id, reasons)
        by_name = "the operator" if by == OPERATOR else self.devices.get(by, {}).get("name")
        self.trigger_event(self.DeviceRevoked, device_id=device_id, revoked_by=by, name=device["name"],
                           by_name=by_name)


class Device(Aggregate):
    """A paired device: its account, the hash of its token, and the last seq accepted from it."""

    class Paired(Aggregate.Created):
        class_version = 1
        account_id: str
        name: str
        token_hash: str

    class Revoked(Aggregate.Event):
        class_version = 1

        def apply(self, device: Device) -> None:
            device.revoked = True

    class BatchAccepted(Aggregate.Event):
        class_version = 1
        last_seq: int

        def apply(self, device: Device) -> None:
            device.last_seq = self.last_seq

    def __init__(self, account_id: str, name: str, token_hash: str):
        self.account_id = account_id
        self.name = name
        self.token_hash = token_hash
        self.revoked = False
        self.last_seq = 0

    @classmethod
    def pair(cls, device_id: UUID, account_id: UUID, name: str, token_hash: str) -> Device:
        return cls._create(cls.Paired, id=device_id, account_id=str(account_id), name=_device_name("name", name),
                           token_hash=token_hash)

    def revoke(self) -> None:
        if not self.revoked:
            self.trigger_event(self.Revoked)

    def accept(self, last_seq: int) -> None:
        if last_seq <= self.last_seq:
            return
        self.trigger_event(self.BatchAccepted, last_seq=last_seq)
