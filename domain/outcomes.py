"""Outcome measures: the instruments, their answers and their scores (pure functions).

Four instruments, scored from item numbers and values only (no questionnaire
wording is shipped: the ODI and RMDQ texts are licensed):

- ``odi``: Oswestry Disability Index v2.1a, 10 sections scored 0..5 (``None`` not
  answered), score = sum / (5 x answered) x 100 to one decimal (half up); at
  least 8 sections answered.
- ``rmdq``: Roland-Morris Disability Questionnaire, 24 statements; the answers are
  the numbers of those that apply; score = how many (0..24).
- ``psfs``: Patient-Specific Functional Scale, 3 to 5 activities by id, each 0..10;
  score = their mean to two decimals (half up).
- ``nprs``: numeric pain rating 0..10; the score is the rating.

Canonical answers (what an ``OutcomeAssessed`` event stores): a list of 10 ints or
None (odi), the sorted statement numbers (rmdq), ``{activity_id: score}`` (psfs),
``{"pain": n}`` (nprs). ``parse_answers`` turns the wire/CLI forms into these.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from domain.errors import InvalidValue, Refused

VERSIONS = {"odi": "2.1a", "rmdq": "24-item", "psfs": "1", "nprs": "0-10"}
INSTRUMENTS = tuple(VERSIONS)
ODI_SECTIONS = 10
ODI_MIN_ANSWERED = 8
RMDQ_STATEMENTS = 24
PSFS_MIN, PSFS_MAX = 3, 5
ACTIVITY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ACTIVITY_NAME_CHARS = 100


def _round(value: Fraction, places: int) -> float:
    quantum = Decimal(1).scaleb(-places)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(quantum, rounding=ROUND_HALF_UP))


def instrument_of(field: str, value: Any) -> str:
    if value not in VERSIONS:
        raise InvalidValue(field, f"{value!r} is not an instrument; allowed: {', '.join(INSTRUMENTS)}")
    return value


def _items(field: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",")] if value.strip() else []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() if v is not None else "-" for v in value]
    raise InvalidValue(field, "must be comma-separated values, e.g. \"3,2,1,-,0,2,1,1,2,0\"")


def _whole(field: str, raw: Any, low: int, high: int, what: str) -> int:
    if isinstance(raw, bool):
        raise InvalidValue(field, f"{what} {raw!r} is not a whole number; allowed {low}..{high}")
    try:
        n = raw if isinstance(raw, int) else int(str(raw).strip())
    except ValueError:
        raise InvalidValue(field, f"{what} {raw!r} is not a whole number; allowed {low}..{high}") from None
    if not low <= n <= high:
        raise InvalidValue(field, f"{what} is {n}; allowed {low}..{high}")
    return n


def odi_answers(field: str, value: Any) -> list[int | None]:
    """Ten sections, each 0..5 or ``-`` (not answered); at least 8 answered."""
    items = _items(field, value)
    if len(items) != ODI_SECTIONS:
        raise InvalidValue(field, f"has {len(items)} values; the ODI has {ODI_SECTIONS} sections, "
                                  f"each 0..5 or - for not answered")
    out = [None if raw in ("-", "", "None") else _whole(field, raw, 0, 5, f"section {n}")
           for n, raw in enumerate(items, 1)]
    answered = sum(1 for v in out if v is not None)
    if answered < ODI_MIN_ANSWERED:
        raise InvalidValue(field, f"only {answered} of {ODI_SECTIONS} sections answered; "
                                  f"at least {ODI_MIN_ANSWERED} are needed for a score")
    return out


def rmdq_answers(field: str, value: Any) -> list[int]:
    """The numbers (1..24) of the statements that apply, each once."""
    items = [i for i in _items(field, value) if i]
    numbers = [_whole(field, raw, 1, RMDQ_STATEMENTS, "statement") for raw in items]
    if len(set(numbers)) != len(numbers):
        raise InvalidValue(field, "names a statement twice; give each statement number once")
    return sorted(numbers)


def rmdq_yes_no(field: str, value: Any) -> list[int]:
    """24 y/n values, in statement order: the statements answered y."""
    items = [i.lower() for i in _items(field, value)]
    if len(items) != RMDQ_STATEMENTS:
        raise InvalidValue(field, f"has {len(items)} values; give {RMDQ_STATEMENTS}, each y or n")
    bad = next((n for n, v in enumerate(items, 1) if v not in ("y", "n")), None)
    if bad is not None:
        raise InvalidValue(field, f"statement {bad} is {items[bad - 1]!r}; allowed y or n")
    return [n for n, v in enumerate(items, 1) if v == "y"]


def activity_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not ACTIVITY_ID.match(value):
        raise InvalidValue(field, f"{value!r} is not an activity id; use 1-40 lowercase letters, digits, "
                                  f"- or _, starting with a letter or digit, e.g. lift-child")
    return value


def _pairs(field: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return list(value.items())
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InvalidValue(field, "must be ID=VALUE pairs, e.g. lift-child=4")
    out = []
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise InvalidValue(field, f"{item!r}: use ID=VALUE, e.g. lift-child=4")
        key, _, raw = item.partition("=")
        out.append((key.strip(), raw.strip()))
    return out


def psfs_answers(field: str, value: Any) -> dict[str, int]:
    """3 to 5 activities, ``ID=SCORE`` with SCORE 0..10."""
    out: dict[str, int] = {}
    for key, raw in _pairs(field, value):
        key = activity_id(field, key)
        if key in out:
            raise InvalidValue(field, f"activity {key} is given twice")
        out[key] = _whole(field, raw, 0, 10, f"activity {key}")
    if not PSFS_MIN <= len(out) <= PSFS_MAX:
        raise InvalidValue(field, f"has {len(out)} activities; the PSFS takes {PSFS_MIN} to {PSFS_MAX}")
    return out


def activity_names(field: str, value: Any, scored: dict[str, int]) -> dict[str, str]:
    """``ID=TEXT`` names for activities scored in the same assessment."""
    out: dict[str, str] = {}
    for key, text in _pairs(field, value or []):
        key = activity_id(field, key)
        if key not in scored:
            raise InvalidValue(field, f"activity {key} is not scored in this assessment; "
                                      f"name one of: {', '.join(scored)}")
        if not isinstance(text, str) or not text.strip() or len(text) > ACTIVITY_NAME_CHARS:
            raise InvalidValue(field, f"the name of {key} must be 1 to {ACTIVITY_NAME_CHARS} characters")
        out[key] = text.strip()
    return out


def parse_answers(instrument: str, args: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """The canonical answers and the activity names of an ``assess`` mutation's arguments.

    Each instrument takes its own arguments: odi ``answers``; rmdq ``answers`` or
    ``answers_yes_no``; psfs ``activity`` (and ``activity_name``); nprs ``pain``.
    """
    instrument = instrument_of("instrument", instrument)
    allowed = {"odi": {"answers"}, "rmdq": {"answers", "answers_yes_no"},
               "psfs": {"activity", "activity_name"}, "nprs": {"pain"}}[instrument]
    given = {k for k, v in args.items() if v is not None and v != [] and k in
             ("answers", "answers_yes_no", "activity", "activity_name", "pain")}
    wrong = sorted(given - allowed)
    if wrong:
        raise InvalidValue(wrong[0], f"is not an answer of {instrument}; it takes: {', '.join(sorted(allowed))}")
    names: dict[str, str] = {}
    if instrument == "odi":
        _need(args, "answers", instrument)
        answers: Any = odi_answers("answers", args["answers"])
    elif instrument == "rmdq":
        if ("answers" in given) == ("answers_yes_no" in given):
            raise InvalidValue("answers", "give exactly one of answers (statement numbers 1..24) "
                                          "or answers_yes_no (24 y/n values)")
        answers = (rmdq_answers("answers", args["answers"]) if "answers" in given
                   else rmdq_yes_no("answers_yes_no", args["answers_yes_no"]))
    elif instrument == "psfs":
        _need(args, "activity", instrument)
        answers = psfs_answers("activity", args["activity"])
        names = activity_names("activity_name", args.get("activity_name"), answers)
    else:
        _need(args, "pain", instrument)
        answers = {"pain": _whole("pain", args["pain"], 0, 10, "pain")}
    return answers, names


def _need(args: dict, name: str, instrument: str) -> None:
    if args.get(name) in (None, []):
        raise InvalidValue(name, f"is required for {instrument}")


def score(instrument: str, answers: Any) -> float | int:
    """The score of canonical answers (checked again: a stored event is read back through here)."""
    if instrument == "odi":
        answers = odi_answers("answers", answers)
        given = [v for v in answers if v is not None]
        return _round(Fraction(sum(given) * 100, 5 * len(given)), 1)
    if instrument == "rmdq":
        return len(rmdq_answers("answers", answers))
    if instrument == "psfs":
        values = psfs_answers("activity", answers).values()
        return _round(Fraction(sum(values), len(values)), 2)
    if instrument == "nprs" and isinstance(answers, dict):
        return _whole("pain", answers.get("pain"), 0, 10, "pain")
    raise InvalidValue("instrument", f"{instrument!r} is not an instrument; allowed: {', '.join(INSTRUMENTS)}")


def checked_score(instrument: str, answers: Any, claimed: Any, what: str = "the assessment") -> float | int:
    """The recomputed score; a different ``claimed`` one (an altered export or store) is refused."""
    actual = score(instrument, answers)
    if claimed is not None and (isinstance(claimed, bool) or not isinstance(claimed, (int, float))
                                or float(claimed) != float(actual)):
        raise Refused("score_mismatch", f"{what} ({instrument}) claims a score of {claimed!r} but its answers "
                                        f"score {actual}; the record was altered")
    return actual
