"""Exercise names: one spelling per name, no invisible characters, and look-ups that say what they found."""

from __future__ import annotations

import pytest

from domain.errors import InvalidValue, NotFound
from domain.values import name_text
from domain.view import ExerciseView, ProgramView
from service import args as argspec
from service.naming import resolve_exercise

RX = {"position": {"stage": 1, "posture": None}, "sets": 3, "reps": 8}


@pytest.mark.parametrize("raw, character", [
    ("Dead\nbug", "U+000A LINE FEED"),
    ("Dead\tbug", "U+0009 CHARACTER TABULATION"),
    ("Dead\rbug", "U+000D CARRIAGE RETURN"),
    ("\x1b[31mDead bug", "U+001B ESCAPE"),
    ("Dead\x85bug", "U+0085 NEXT LINE"),
    ("Dead\x01bug", "U+0001 CONTROL CHARACTER"),
    ("gub daeD\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u202aDead bug", "U+202A LEFT-TO-RIGHT EMBEDDING"),
    ("Dead\u2066bug\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("Dead bug\u200f", "U+200F RIGHT-TO-LEFT MARK"),
    ("Dead\u200bbug", "U+200B ZERO WIDTH SPACE"),
    ("Dead\u200dbug", "U+200D ZERO WIDTH JOINER"),
    ("\ufeffDead bug", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("Dead\u2028bug", "U+2028 LINE SEPARATOR"),
])
def test_a_name_with_a_control_bidi_or_zero_width_character_is_refused_naming_it(raw, character):
    with pytest.raises(InvalidValue) as e:
        name_text("name", raw)
    assert str(e.value) == f"name: {character} is not allowed"


@pytest.mark.parametrize("name", [
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: a zero-width non-joiner between letters
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 stretch",  # an emoji family joined by U+200D
])
def test_a_joiner_that_shapes_its_neighbours_is_kept(name):
    assert name_text("name", name) == name


@pytest.mark.parametrize("mutation_type, args, field", [
    ("init", {"name": "Sam\u202e"}, "name"),
    ("add", {"name": "Bird\tdog", "position": "1", "sets": 3}, "name"),
    ("deconstruct", {"exercise": "Side plank", "into": ["Leg lift", "Short\u200bplank"], "reason": "x"}, "into"),
])
def test_every_way_a_name_comes_in_holds_to_the_rule(mutation_type, args, field):
    with pytest.raises(InvalidValue) as e:
        argspec.parse(mutation_type, args)
    assert e.value.field == field


def test_names_are_stored_composed_so_both_spellings_are_one_name():
    decomposed, composed = "E\u0301tude de plancher", "\u00c9tude de plancher"
    assert name_text("name", decomposed) == composed
    assert argspec.parse("add", {"name": decomposed, "position": "1", "sets": 1})["name"] == composed
    into = argspec.parse("deconstruct", {"exercise": "x", "into": [decomposed, "b"], "reason": "r"})["into"]
    assert into == [composed, "b"]
    for kept in ("Bird dog \U0001f9b4", "\u05d3\u05d5\u05d2\u05de\u05d4 (Hebrew)", "\ufb01 ligature", "caf\u00e9 <b>"):
        assert name_text("name", kept) == kept  # right-to-left letters, astral and markup are plain text


def _view(*exercises: tuple[str, str, str]) -> ProgramView:
    view = ProgramView(name="Sam")
    for eid, name, status in exercises:
        view.exercises[eid] = ExerciseView(id=eid, name=name, kind=None, added="", status=status, signature=False,
                                           parent=None, components=[], prescription=dict(RX))
    return view


VIEW = _view(("c8ad1111-0000-5000-8000-000000000001", "Dead bug", "active"),
             ("c8ad2222-0000-5000-8000-000000000002", "Bird dog", "active"),
             ("77aa3333-0000-5000-8000-000000000003", "\u00e9tude", "active"),
             ("99bb4444-0000-5000-8000-000000000004", "Side plank", "retired"))


def test_a_name_or_a_unique_id_prefix_finds_the_exercise_in_either_spelling():
    assert resolve_exercise(VIEW, " dead BUG ").name == "Dead bug"
    assert resolve_exercise(VIEW, "E\u0301TUDE").name == "\u00e9tude"  # typed decomposed, stored composed
    assert resolve_exercise(VIEW, "c8ad2").name == "Bird dog"


def test_an_ambiguous_id_prefix_names_the_exercises_it_matches():
    with pytest.raises(NotFound) as e:
        resolve_exercise(VIEW, "c8ad")
    assert str(e.value) == ("exercise: the prefix c8ad matches 2 exercises: Dead bug, Bird dog; "
                            "give more of the id or the name")


def test_an_unknown_name_offers_a_few_close_names_never_the_whole_store():
    with pytest.raises(NotFound) as e:
        resolve_exercise(VIEW, "Bird dgo")
    assert str(e.value) == "exercise: no exercise named 'Bird dgo'; did you mean 'Bird dog'?"
    with pytest.raises(NotFound, match=r"its exercises: 'Dead bug', 'Bird dog', 'étude', 'Side plank'$"):
        resolve_exercise(VIEW, "Cobra")  # a small program: all of it is a few names
    big = _view(*[(f"{i:08x}-0000-5000-8000-000000000000", f"Exercise number {i}", "active") for i in range(700)])
    with pytest.raises(NotFound) as e:
        resolve_exercise(big, "Exercise numbr 12")
    message = str(e.value)
    assert len(message) < 200 and message.count("'Exercise number") <= 3, message
    assert "'Exercise number 12'" in message
    with pytest.raises(NotFound) as e:
        resolve_exercise(big, "Cobra")
    assert str(e.value) == "exercise: no exercise named 'Cobra'; `backstory show` lists the exercises"
    with pytest.raises(NotFound, match="has no exercises yet"):
        resolve_exercise(_view(), "Cobra")
    with pytest.raises(NotFound) as e:
        resolve_exercise(big, "0000")
    assert str(e.value).startswith("exercise: the prefix 0000 matches 700 exercises: Exercise number 0, ")
    assert len(str(e.value)) < 200
