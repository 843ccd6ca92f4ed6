"""The CLI's composition root: opens the store once per run and knows this device.

Everything heavy is imported here, lazily, when a command first needs the
store. The device id lives in ``BACKSTORY_HOME/device.json`` and is made on
first use.
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
    def app(self):
        if self._app is None:
            from service.application import BackstoryApp
            from service.config import parse_store, resolve_url

            self._app = BackstoryApp(parse_store(resolve_url(self.db)).env)
        return self._app

    @property
    def ledger(self):
        """The program this CLI works on: its own, until it syncs with a remote."""
        from service.application import program_id_for

        return self.app.ledger(program_id_for("local"))

    def reader(self):
        return self.ledger

    def device_id(self) -> str:
        path = self.home / "device.json"
        try:
            return json.loads(path.read_text())["device_id"]
        except (OSError, ValueError, KeyError):
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        device = f"cli-{uuid.uuid4().hex[:12]}"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"device_id": device}))
        tmp.replace(path)
        return device

    def timezone(self) -> ZoneInfo:
        program = self.ledger.program()
        return ZoneInfo(program.view().timezone if program else local_timezone())

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def mutate(self, mutation_type: str, args: dict[str, Any], at: datetime | None = None) -> dict:
        from service.handling import Mutation, handle

        mutation = Mutation(
            mutation_id=str(uuid.uuid4()), type=mutation_type, occurred_at=at or self.now(),
            device_id=self.device_id(), args={k: v for k, v in args.items() if v not in (None, (), [])},
        )
        return handle(self.ledger, mutation)
