"""Accounts and their devices: who may sync, and each device's place in its push sequence.

An ``Account`` owns one program and lists its devices. A ``Device`` holds
the hash of its token (never the token), whether it was revoked, and the last
``seq`` the server accepted from it, so each device's pushes stay contiguous.
The device's stream is saved in the same transaction as every batch it pushes.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue, Refused

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


class Account(Aggregate):
    """An account: its name, its program, its devices."""

    class Opened(Aggregate.Created):
        class_version = 1
        name: str
        program_id: str

    class DeviceAdded(Aggregate.Event):
        class_version = 1
        device_id: str
        name: str

        def apply(self, account: Account) -> None:
            account.devices[self.device_id] = {"name": self.name, "paired_at": self.timestamp.isoformat(),
                                               "revoked_at": None}

    class DeviceRevoked(Aggregate.Event):
        class_version = 1
        device_id: str

        def apply(self, account: Account) -> None:
            account.devices[self.device_id]["revoked_at"] = self.timestamp.isoformat()

    def __init__(self, name: str, program_id: str):
        self.name = name
        self.program_id = program_id
        self.devices: dict[str, dict] = {}

    @classmethod
    def open(cls, account_id: UUID, name: str, program_id: UUID) -> Account:
        return cls._create(cls.Opened, id=account_id, name=_name("name", name), program_id=str(program_id))

    def add_device(self, device_id: str, name: str) -> None:
        self.trigger_event(self.DeviceAdded, device_id=device_id, name=_name("name", name))

    def revoke_device(self, device_id: str) -> None:
        device = self.devices.get(device_id)
        if device is None:
            raise Refused("unknown_device", f"no device {device_id} in this account")
        if device["revoked_at"] is not None:
            raise Refused("device_revoked", f"device {device_id} is already revoked")
        self.trigger_event(self.DeviceRevoked, device_id=device_id)


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
        return cls._create(cls.Paired, id=device_id, account_id=str(account_id), name=_name("name", name),
                           token_hash=token_hash)

    def revoke(self) -> None:
        if not self.revoked:
            self.trigger_event(self.Revoked)

    def accept(self, last_seq: int) -> None:
        if last_seq <= self.last_seq:
            return
        self.trigger_event(self.BatchAccepted, last_seq=last_seq)
