"""Policies: rules as versioned values, tuned by a recorded decision that holds from its valid time on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.errors import InvalidValue, Refused
from domain.evidence import signature_rule
from domain.policies import DEFINITIONS, PolicyBook, changed_params, default
from domain.decision_context import Context
from domain.program import Program

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def ctx(n: float, recorded: float | None = None, reason: str | None = "physio's advice") -> Context:
    return Context(occurred_at=day(n), device_id="phone", mutation_id=str(uuid4()),
                   recorded_at=day(recorded if recorded is not None else n), reason=reason)


@pytest.fixture
def program() -> Program:
    return Program.start(uuid4(), "My back", "Europe/Paris", ctx(0))


def test_every_rule_has_an_id_a_version_and_checked_defaults():
    for name, rule in DEFINITIONS.items():
        assert rule.rule_id == name and rule.version >= 1 and rule.summary
        assert set(rule.defaults) == set(rule.checks)
        assert rule.check(dict(rule.defaults)) == rule.defaults  # the defaults pass their own checks
    assert default("pain-monitoring").params == {"green_max": 2, "amber_max": 5, "next_day_rise": 2}
    assert default("micro-breaks").params == {"waking_start": "08:00", "waking_end": "22:00", "max_gap_min": 60}
    assert default("fittings").params == {"min_days": 7, "max_days": 14}


def test_the_signature_rule_is_the_signature_evidence_policy():
    rule = signature_rule(default("signature-evidence"))
    assert (rule.rule_id, rule.version, rule.window_days, rule.min_exposures, rule.min_relief_ratio) == (
        "signature-evidence", 1, 42, 5, 0.6)


@pytest.mark.parametrize(("name", "given", "field", "words"), [
    ("pain-monitoring", {"green_maxx": 3}, "green_maxx", "allowed: amber_max, green_max, next_day_rise"),
    ("pain-monitoring", {"green_max": 11}, "green_max", "from 0 to 10"),
    ("pain-monitoring", {"green_max": "two"}, "green_max", "whole number"),
    ("pain-monitoring", {"green_max": 6}, "green_max", "must not be above amber_max (5)"),
    ("micro-breaks", {"waking_start": "7:00"}, "waking_start", "HH:MM"),
    ("micro-breaks", {"waking_start": "23:00"}, "waking_start", "before waking_end"),
    ("fittings", {"min_days": 20}, "min_days", "must not be above max_days (14)"),
    ("signature-evidence", {"min_relief_ratio": 1.5}, "min_relief_ratio", "from 0 to 1"),
    ("nope", {"x": 1}, "policy", "known: fittings"),
    ("kit", {}, "params", "give at least one parameter"),
])
def test_bad_parameters_name_the_field_and_what_is_allowed(name, given, field, words):
    current = dict(DEFINITIONS[name].defaults) if name in DEFINITIONS else {}
    with pytest.raises(InvalidValue) as e:
        changed_params(name, current, given)
    assert e.value.field == field and words in str(e.value)


def test_text_values_from_the_command_line_become_numbers():
    assert changed_params("pain-monitoring", default("pain-monitoring").params, {"green_max": "3"})["green_max"] == 3
    assert changed_params("signature-evidence", default("signature-evidence").params,
                          {"min_relief_ratio": "0.5"})["min_relief_ratio"] == 0.5


def test_a_policy_change_holds_from_its_valid_time_on(program):
    program.set_policy("pain-monitoring", {"green_max": 3}, ctx(10))
    book = program.policy_book()
    assert book.at("pain-monitoring", day(9.99))["green_max"] == 2
    assert book.at("pain-monitoring", day(10))["green_max"] == 3
    assert book.at("pain-monitoring", day(10)).params == {"green_max": 3, "amber_max": 5, "next_day_rise": 2}
    assert book.at("fittings", day(10)) == default("fittings")  # other rules untouched
    event = program.pending_events[-1]
    assert (event.command, event.policy, event.version, event.previous["green_max"]) == (
        "policy-set", "pain-monitoring", 1, 2)
    assert event.change() == ({"policy": "pain-monitoring", "version": 1, "params": event.previous},
                              {"policy": "pain-monitoring", "version": 1, "params": event.params})


def test_a_backdated_change_is_seen_only_from_when_it_was_recorded(program):
    program.set_policy("pain-monitoring", {"amber_max": 6}, ctx(5, recorded=20))
    assert program.policy_book().at("pain-monitoring", day(6))["amber_max"] == 6
    assert program.policy_book(known_at=day(19)).at("pain-monitoring", day(6))["amber_max"] == 5


def test_later_changes_build_on_the_parameters_in_force_at_their_own_time(program):
    program.set_policy("pain-monitoring", {"green_max": 3}, ctx(10))
    program.set_policy("pain-monitoring", {"amber_max": 7}, ctx(20))
    program.set_policy("pain-monitoring", {"next_day_rise": 3}, ctx(5, recorded=21))  # backdated, before both
    book = program.policy_book()
    assert book.at("pain-monitoring", day(6)).params == {"green_max": 2, "amber_max": 5, "next_day_rise": 3}
    assert book.at("pain-monitoring", day(25)).params == {"green_max": 3, "amber_max": 7, "next_day_rise": 2}


def test_a_change_needs_a_reason_and_must_change_something(program):
    with pytest.raises(InvalidValue) as e:
        program.set_policy("pain-monitoring", {"green_max": 3}, ctx(3, reason=None))
    assert e.value.field == "reason"
    with pytest.raises(Refused) as r:
        program.set_policy("pain-monitoring", {"green_max": 2}, ctx(3))
    assert r.value.rule == "no_change"
    assert not [e for e in program.pending_events if e.command == "policy-set"]


def test_the_book_reads_the_same_from_history_entries(program):
    program.set_policy("fittings", {"max_days": 21}, ctx(4))
    event = program.pending_events[-1]
    before, after = event.change()
    entries = [{"type": "policy-set", "occurred_at": event.occurred_at.isoformat(), "from": before, "to": after}]
    assert PolicyBook.from_entries(entries).at("fittings", day(5)) == program.policy_book().at("fittings", day(5))
