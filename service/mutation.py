"""A change as a device asks for it (``Mutation``), what its handler decides (``Step``), and the ids and
decision context made from it, the same on every replica and every re-import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from domain.decision_context import Context


IDS = uuid5(NAMESPACE_URL, "https://backstory.invalid/ids")


@dataclass(frozen=True)
class Mutation:
    """One change as a device asks for it (SPEC 5 wire format)."""

    mutation_id: str
    type: str
    occurred_at: datetime
    device_id: str
    args: dict[str, Any] = field(default_factory=dict)
    base_version: int | None = None
    seq: int | None = None
    # Set by the sync policy for a late retire/deconstruct, which wins over edits made meanwhile.
    supersede_later: bool = False
    # Applied before, elsewhere (an import): a fact about an exercise this program lacks is still kept.
    accepted: bool = False
    # An import of a decision the sync policy kept as a conflict: that conflict, restored as it was.
    conflict: dict[str, Any] | None = None
    # Set by the sync policy for a stale decision that wins over concurrent edits (``service.overrides``):
    # the valid time it takes effect at, and the mutation ids of the edits it overrides.
    effective_at: datetime | None = None
    overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A time zone's rules (a CLI's zone-aware --at) become the fixed offset of that instant: what a
        # replay, an import or the server reads back from the ISO text, so date arithmetic on the first
        # run (a next-day's 3 days, an evidence window) gives the same result as on every later one.
        at = self.occurred_at
        if at.tzinfo is not None and not isinstance(at.tzinfo, timezone) and at.utcoffset() is not None:
            object.__setattr__(self, "occurred_at", at.replace(tzinfo=timezone(at.utcoffset())))


@dataclass
class Step:
    """What a handler decided: the aggregates to save and the plain result to report."""

    aggregates: list[Any]
    result: dict[str, Any]


def derived_id(mutation_id: str, what: str) -> str:
    """Ids made from the mutation id, so every replica and every re-import makes the same ones."""
    return str(uuid5(IDS, f"{mutation_id}:{what}"))


def conflict_id(mutation_id: str) -> str:
    """The id of the conflict a mutation is kept as: the same whichever way it became one."""
    return derived_id(mutation_id, "conflict")


def decision_context(m: Mutation, parsed: dict, now: datetime) -> Context:
    return Context(occurred_at=m.effective_at or m.occurred_at, device_id=m.device_id, mutation_id=m.mutation_id,
                   recorded_at=now, reason=parsed.get("reason"), reason_code=parsed.get("reason_code", "unspecified"),
                   supersede_later=m.supersede_later)
