"""The policies in force: which parameters each insight rule uses, and since when.

``book`` gives the ``PolicyBook`` of a program read from the store (the insight
queries ask it for the rule in force at each fact's valid time); ``policies``
answers ``backstory policy show`` and ``GET /v1/policies``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.policies import DEFINITIONS, PolicyBook
from service.application import Ledger, UnitOfWork, require_program

NOTE = ("The rules are heuristics from the clinical literature on pain monitoring and graded exposure, "
        "not a diagnosis; discuss changes with your clinician.")


def book(reader: Ledger | UnitOfWork, known_at: datetime | None = None) -> PolicyBook:
    return require_program(reader).policy_book(known_at)


def describe(policies: PolicyBook, at: datetime) -> dict[str, Any]:
    """Every rule as in force at ``at``: id, version, parameters, defaults, when it last changed."""
    out = []
    for name, rule in sorted(DEFINITIONS.items()):
        policy = policies.at(name, at)
        changes = [when for when, _ in policies.changes.get(name, []) if when <= at]
        out.append({"id": name, "version": policy.version, "params": policy.params, "defaults": rule.defaults,
                    "changed_at": changes[-1].isoformat() if changes else None, "summary": rule.summary})
    return {"at": at.isoformat(), "policies": out, "note": NOTE}


def policies(reader: Ledger | UnitOfWork, at: datetime) -> dict[str, Any]:
    return describe(book(reader), at)
