"""The eventsourcing application that stores the program, its facts and processed mutations.

Persistence details stay behind the library's factory: the environment comes
from ``service.config`` and selects SQLite or PostgreSQL with the same code.
The Program aggregate is snapshotted so loading it reads a snapshot and a
short tail, not the whole history.
"""

from __future__ import annotations

from datetime import date
from typing import Iterator
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.facts import FactLog, fact_log_id
from domain.mutations import MutationRecord, mutation_record_id
from domain.program import Program

PROGRAM_NAMESPACE = uuid5(NAMESPACE_URL, "https://backstory.invalid/programs")


def program_id_for(account: str) -> UUID:
    return uuid5(PROGRAM_NAMESPACE, account)


class DateAsISO(Transcoding):
    """Dates as ISO strings in stored events."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class BackstoryApp(Application):
    """Loads and saves the aggregates of one person's program."""

    name = "Backstory"
    snapshotting_intervals = {Program: 100, FactLog: 100}

    def __init__(self, env: dict[str, str], account: str = "local"):
        super().__init__(env)
        self.program_id = program_id_for(account)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def program(self) -> Program | None:
        try:
            return self.repository.get(self.program_id)
        except AggregateNotFoundError:
            return None

    def fact_log(self, month: str) -> FactLog | None:
        try:
            return self.repository.get(fact_log_id(self.program_id, month))
        except AggregateNotFoundError:
            return None

    def mutation_record(self, mutation_id: str) -> MutationRecord | None:
        try:
            return self.repository.get(mutation_record_id(self.program_id, mutation_id))
        except AggregateNotFoundError:
            return None

    def decisions(self) -> list[Program.Event]:
        """Every stored decision event of the program, in recorded order."""
        return list(self.events.get(self.program_id))

    def mutation_records(self, batch: int = 1000) -> Iterator[MutationRecord.Processed]:
        """Every processed mutation in recorded order (from the notification log)."""
        topic = "domain.mutations:MutationRecord.Processed"
        start = 1
        while True:
            notes = self.recorder.select_notifications(start, batch, topics=[topic])
            for n in notes:
                yield self.mapper.to_domain_event(n)
            if len(notes) < batch:
                return
            start = notes[-1].id + 1
