"""Who decided what and when: the context every decision and fact is recorded with, and the time checks.

``check_time`` is the one rule for valid times: with an offset, from 1900, at most
``CLOCK_TOLERANCE`` after the recorded time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from domain.errors import InvalidValue

CLOCK_TOLERANCE = timedelta(minutes=10)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Context:
    """Who decided what, when it happened, when it is being recorded, and why."""

    occurred_at: datetime
    device_id: str
    mutation_id: str
    recorded_at: datetime
    reason: str | None = None
    reason_code: str = "unspecified"
    # Sync policy: a retire or deconstruct that arrives late still wins over edits made meanwhile.
    supersede_later: bool = False

    def meta(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at, "device_id": self.device_id, "mutation_id": self.mutation_id,
            "reason": self.reason, "reason_code": self.reason_code, "timestamp": self.recorded_at,
        }


def check_time(occurred_at: datetime, recorded_at: datetime) -> None:
    """Valid time must carry a time zone and not lie beyond the clock tolerance in the future."""
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        raise InvalidValue("at", "needs a time zone offset")
    if occurred_at.year < 1900 or occurred_at.year > 9000:
        raise InvalidValue("at", f"{occurred_at.isoformat()} is out of range; allowed from 1900")
    if occurred_at > recorded_at + CLOCK_TOLERANCE:
        raise InvalidValue(
            "at", f"{occurred_at.isoformat()} is in the future; allowed up to "
            f"{int(CLOCK_TOLERANCE.total_seconds() // 60)} minutes after now",
        )
