"""The program as a person sees it at one moment, built from timeline fields.

``materialize`` turns the per-field state of ``domain.timeline`` into plain
values: the program's name, time zone and open fitting, and each exercise with
its status, links and prescription. The same function serves the indexed
query and the plain replay, so the two can only differ in what they select.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.prescription import DIMENSIONS
from domain.timeline import PROGRAM


@dataclass
class ExerciseView:
    """One exercise as of a moment: identity, status, links and prescription."""

    id: str
    name: str
    kind: str | None
    added: str
    status: str
    signature: bool
    parent: str | None
    components: list[str]
    prescription: dict[str, Any]

    def to_dict(self) -> dict:
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "status": self.status,
            "signature": self.signature, "parent": self.parent, "components": list(self.components),
            "prescription": dict(self.prescription),
        }


@dataclass
class ProgramView:
    """The whole program as of a moment."""

    name: str | None = None
    timezone: str = "UTC"
    started: str | None = None
    fitting: dict | None = None
    exercises: dict[str, ExerciseView] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.name is not None

    def in_program(self) -> list[ExerciseView]:
        return [e for e in self.exercises.values() if e.status != "retired"]


def materialize(state: dict[str, dict[str, Any]]) -> ProgramView:
    prog = state.get(PROGRAM, {})
    view = ProgramView(
        name=prog.get("name"), timezone=prog.get("timezone", "UTC"),
        started=prog.get("started"), fitting=prog.get("fitting"),
    )
    exercises = []
    for entity, f in state.items():
        if entity == PROGRAM or "name" not in f:
            continue
        exercises.append(ExerciseView(
            id=entity, name=f["name"], kind=f.get("kind"), added=f.get("added", ""),
            status=f.get("status", "active"), signature=bool(f.get("signature", False)),
            parent=f.get("parent"), components=list(f.get("components") or []),
            prescription={d: f.get(d) for d in DIMENSIONS},
        ))
    exercises.sort(key=lambda e: (e.added, e.name.lower()))
    view.exercises = {e.id: e for e in exercises}
    return view
