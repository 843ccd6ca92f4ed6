"""Stream ids written out as constants (to spare start-up a hashlib import) are the uuid5 values they stand for."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

from domain.outbox import OUTBOX_ID
from service.application import LOCAL_PROGRAM_ID, PROGRAM_NAMESPACE, program_id_for


def test_written_out_ids_are_their_uuid5():
    assert PROGRAM_NAMESPACE == uuid5(NAMESPACE_URL, "https://backstory.invalid/programs")
    assert LOCAL_PROGRAM_ID == program_id_for("local") == uuid5(PROGRAM_NAMESPACE, "local")
    assert OUTBOX_ID == uuid5(NAMESPACE_URL, "https://backstory.invalid/outbox")
    assert program_id_for("sam") == uuid5(PROGRAM_NAMESPACE, "sam")
