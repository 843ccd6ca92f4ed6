"""The projections, by name, in the order they are applied within a batch."""

from __future__ import annotations

from projections.accounts import ConflictsProjection, DevicesProjection
from projections.base import Projection
from projections.decisions import DecisionsProjection, SignatureProjection
from projections.facts import SessionsProjection, TensionProjection
from projections.feed import FeedProjection
from projections.program import ProgramProjection, TimelineProjection


def all_projections() -> list[Projection]:
    return [FeedProjection(), ProgramProjection(), TimelineProjection(), DecisionsProjection(),
            SessionsProjection(), TensionProjection(), SignatureProjection(), ConflictsProjection(),
            DevicesProjection()]


NAMES = tuple(p.name for p in all_projections())
