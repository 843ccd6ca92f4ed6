"""The record that a mutation was processed, so it is never applied twice.

Every change enters as a mutation with a client-made ``mutation_id``. Its
record is an aggregate whose id derives from that ``mutation_id`` and is saved
in the same transaction as the change itself: a second attempt to apply the
same mutation collides on the record's first version and is turned into a
"duplicate" answer carrying the original result.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

MUTATIONS_NAMESPACE = uuid5(NAMESPACE_URL, "https://backstory.invalid/mutations")


@lru_cache(maxsize=4096)  # a push asks for each id several times; uuid5 is a SHA-1
def mutation_record_id(program_id: UUID | str, mutation_id: str) -> UUID:
    return uuid5(MUTATIONS_NAMESPACE, f"{program_id}:{mutation_id}")


class MutationRecord(Aggregate):
    """A processed mutation: what was asked, by which device, and what came of it."""

    class Processed(Aggregate.Created):
        """v2 added ``program_id`` (whose feed it belongs to), the device's ``seq`` and ``base_version``."""

        class_version = 2
        mutation_id: str
        mutation_type: str
        device_id: str
        occurred_at: datetime
        args: dict
        status: str
        result: dict
        program_id: str | None
        seq: int | None
        base_version: int | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["program_id"] = None
            state["seq"] = None
            state["base_version"] = None

    def __init__(self, mutation_id: str, mutation_type: str, device_id: str, occurred_at: datetime,
                 args: dict, status: str, result: dict, program_id: str | None = None,
                 seq: int | None = None, base_version: int | None = None):
        self.program_id = program_id
        self.seq = seq
        self.base_version = base_version
        self.mutation_id = mutation_id
        self.mutation_type = mutation_type
        self.device_id = device_id
        self.occurred_at = occurred_at
        self.args = args
        self.status = status
        self.result = result

    @classmethod
    def processed(cls, program_id: UUID | str, mutation_id: str, mutation_type: str, device_id: str,
                  occurred_at: datetime, args: dict, status: str, result: dict,
                  recorded_at: datetime, seq: int | None = None, base_version: int | None = None) -> MutationRecord:
        return cls._create(
            cls.Processed, id=mutation_record_id(program_id, mutation_id), mutation_id=mutation_id,
            mutation_type=mutation_type, device_id=device_id, occurred_at=occurred_at, args=args,
            status=status, result=result, timestamp=recorded_at, program_id=str(program_id), seq=seq,
            base_version=base_version,
        )
