"""Conflicts: decisions that met a program that had moved on, kept until a person decides.

When a device's decision was made against an older version of the program and
another decision touched the same exercise since, the sync policy may keep the
current program instead of applying it. The decision is then not lost: it is
recorded in the program's ``ConflictLog``, shown to every device, and resolved
later by a new decision (keep the current program, or apply mine).
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import NotFound, Refused

CONFLICTS_NAMESPACE = uuid5(NAMESPACE_URL, "https://backstory.invalid/conflicts")
RESOLUTIONS = ("keep-current", "apply-mine")


def conflict_log_id(program_id: UUID | str) -> UUID:
    return uuid5(CONFLICTS_NAMESPACE, f"{program_id}:conflicts")


class ConflictLog(Aggregate):
    """Every conflict of one program: what was asked, what it met, what was kept, how it ended."""

    class Opened(Aggregate.Created):
        class_version = 1
        program_id: str

    class Recorded(Aggregate.Event):
        class_version = 1
        conflict_id: str
        mutation_id: str
        mutation_type: str
        device_id: str
        occurred_at: datetime
        args: dict
        base_version: int | None
        program_version: int
        exercise_id: str | None
        exercise_name: str | None
        reason: str
        theirs: list
        kept: dict

        def apply(self, log: ConflictLog) -> None:
            log.conflicts[self.conflict_id] = {
                "id": self.conflict_id, "mutation_id": self.mutation_id, "type": self.mutation_type,
                "device_id": self.device_id, "occurred_at": self.occurred_at.isoformat(),
                "recorded_at": self.timestamp.isoformat(), "args": self.args, "base_version": self.base_version,
                "program_version": self.program_version, "exercise_id": self.exercise_id,
                "exercise": self.exercise_name, "reason": self.reason, "theirs": self.theirs, "kept": self.kept,
                "resolution": None, "resolved_by": None, "resolved_at": None,
            }

    class Resolved(Aggregate.Event):
        class_version = 1
        conflict_id: str
        resolution: str
        device_id: str
        mutation_id: str
        occurred_at: datetime

        def apply(self, log: ConflictLog) -> None:
            log.conflicts[self.conflict_id].update(
                resolution=self.resolution, resolved_by=self.mutation_id, resolved_at=self.timestamp.isoformat(),
            )

    def __init__(self, program_id: str):
        self.program_id = program_id
        self.conflicts: dict[str, dict] = {}

    @classmethod
    def open(cls, program_id: UUID | str) -> ConflictLog:
        return cls._create(cls.Opened, id=conflict_log_id(program_id), program_id=str(program_id))

    def record(self, conflict_id: str, recorded_at: datetime, **details) -> None:
        self.trigger_event(self.Recorded, conflict_id=conflict_id, timestamp=recorded_at, **details)

    def find(self, prefix: str) -> dict:
        prefix = prefix.strip().lower()
        hits = [c for cid, c in self.conflicts.items() if cid.startswith(prefix)] if len(prefix) >= 4 else []
        if len(hits) > 1:
            raise NotFound("conflict", f"conflict: the prefix {prefix} matches {len(hits)} conflicts; give more of the id")
        if len(hits) != 1:
            raise NotFound("conflict", f"conflict: no single conflict with id {prefix!r}")
        return hits[0]

    def resolve(self, conflict_id: str, resolution: str, device_id: str, mutation_id: str,
                occurred_at: datetime, recorded_at: datetime) -> None:
        conflict = self.conflicts[conflict_id]
        if conflict["resolution"] is not None:
            raise Refused("conflict_resolved", f"conflict {conflict_id[:8]} was already resolved "
                                               f"({conflict['resolution']})")
        if resolution not in RESOLUTIONS:
            raise Refused("resolution", f"resolution must be one of {', '.join(RESOLUTIONS)}")
        self.trigger_event(self.Resolved, conflict_id=conflict_id, resolution=resolution, device_id=device_id,
                           mutation_id=mutation_id, occurred_at=occurred_at, timestamp=recorded_at)
