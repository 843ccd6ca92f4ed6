"""domain.prescription: normalize, compare and check_move (SPEC 3.1, 3.2 invariants)."""

from __future__ import annotations

import pytest

from domain.errors import InvalidValue, Refused
from domain.prescription import DIMENSIONS, apply_changes, check_move, compare, normalize


def base(**over) -> dict:
    """Kneeling hinge, 3x10 with 2 kg through mid range."""
    raw = {
        "position": {"stage": 2, "posture": "quadruped"},
        "load": {"type": "free_weight", "magnitude": 2, "unit": "kg"},
        "direction": {"pattern": "hinge", "plane": "sagittal"},
        "sets": 3, "reps": 10, "range": "mid",
    }
    raw.update(over)
    return normalize(raw)


def kg(m):
    return {"type": "free_weight", "magnitude": m, "unit": "kg"}


def move(kind: str, changes: dict, before: dict | None = None):
    before = before or base()
    return check_move(kind, before, apply_changes(before, changes))


def refused(kind: str, changes: dict, before: dict | None = None) -> Refused:
    with pytest.raises(Refused) as info:
        move(kind, changes, before)
    return info.value


# ----- normalize -----------------------------------------------------------------------------


def test_normalize_fills_every_dimension_with_canonical_values():
    p = normalize({"position": {"stage": 1}, "sets": 2, "hold_s": 20, "target": ["glutes", "multifidus", "glutes"]})
    assert set(p) == set(DIMENSIONS)
    assert p["position"] == {"stage": 1, "posture": None}
    assert p["load"] == {"type": "bodyweight", "magnitude": None, "unit": None}
    assert p["direction"] == {"pattern": None, "plane": None}
    assert (p["sets"], p["reps"], p["hold_s"], p["per_side"], p["range"]) == (2, None, 20, False, None)
    assert p["target"] == ["glutes", "multifidus"]  # sorted, deduplicated
    assert p["protect"] == [] and p["cues"] == []


@pytest.mark.parametrize("raw, field", [
    ({"position": {"stage": 5}, "sets": 3, "reps": 10}, "position.stage"),
    ({"position": {"stage": 0}, "sets": 3, "reps": 10}, "position.stage"),
    ({"position": {"stage": 1}, "sets": 0, "reps": 10}, "sets"),
    ({"position": {"stage": 1}, "sets": 21, "reps": 10}, "sets"),
    ({"position": {"stage": 1}, "sets": True, "reps": 10}, "sets"),
    ({"position": {"stage": 1}, "sets": "3", "reps": 10}, "sets"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "load": {"type": "free_weight", "magnitude": 5}}, "load.unit"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10,
      "load": {"type": "free_weight", "magnitude": 5, "unit": "none"}}, "load.unit"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "load": {"type": "rock"}}, "load.type"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10,
      "load": {"type": "free_weight", "magnitude": 2000, "unit": "kg"}}, "load.magnitude"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "direction": {"pattern": "jump"}}, "direction.pattern"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 0}, "reps"),
    ({"position": {"stage": 1}, "sets": 3, "hold_s": 0}, "hold"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "hold_s": 30}, "reps"),
    ({"position": {"stage": 1}, "sets": 3}, "reps"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "range": "huge"}, "range"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "range": 400}, "range"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "target": ["biceps"]}, "target"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "protect": ["biceps"]}, "protect"),
    ({"sets": 3, "reps": 10}, "position"),
    ({"position": {"stage": 1}, "sets": 3, "reps": 10, "tempo": "slow"}, "tempo"),
])
def test_normalize_refuses_invalid_values_naming_the_field(raw, field):
    with pytest.raises(InvalidValue) as info:
        normalize(raw)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")
    assert info.value.to_dict()["field"] == field


def test_stage_out_of_range_message_names_allowed_range():
    with pytest.raises(InvalidValue) as info:
        normalize({"position": {"stage": 5}, "sets": 3, "reps": 10})
    assert "1..4" in str(info.value)


# ----- apply_changes ---------------------------------------------------------------------------


def test_apply_changes_swaps_reps_for_hold_and_back():
    held = apply_changes(base(), {"hold_s": 30})
    assert (held["reps"], held["hold_s"]) == (None, 30)
    back = apply_changes(held, {"reps": 8})
    assert (back["reps"], back["hold_s"]) == (8, None)


def test_apply_changes_validates_the_result():
    with pytest.raises(InvalidValue) as info:
        apply_changes(base(), {"position": {"stage": 5}})
    assert info.value.field == "position.stage"


# ----- compare -------------------------------------------------------------------------------


def test_compare_identical_prescriptions_changes_nothing():
    c = compare(base(), base())
    assert (c.changed, c.raised, c.lowered, c.unordered) == ({}, [], [], [])


def test_compare_reports_raised_and_lowered_dimensions():
    after = apply_changes(base(), {"position": {"stage": 3}, "load": kg(1), "range": "full", "sets": 2})
    c = compare(base(), after)
    assert sorted(c.raised) == ["position", "range"]
    assert sorted(c.lowered) == ["load", "volume"]
    assert c.unordered == []
    assert set(c.changed) == {"position", "load", "range", "sets"}
    assert c.changed["sets"] == (3, 2)


def test_volume_is_sets_times_reps_so_an_equal_volume_is_not_ordered():
    c = compare(base(), apply_changes(base(), {"sets": 2, "reps": 15}))
    assert c.raised == [] and c.lowered == [] and c.unordered == []
    assert set(c.changed) == {"sets", "reps"}


@pytest.mark.parametrize("after_load", [
    {"type": "free_weight", "magnitude": 5, "unit": "lb"},   # other unit
    {"type": "cable", "magnitude": 2, "unit": "kg"},          # other type
    {"type": "free_weight"},                                 # magnitude dropped
])
def test_loads_of_different_unit_or_type_are_not_comparable(after_load):
    c = compare(base(), apply_changes(base(), {"load": after_load}))
    assert c.unordered == ["load"]
    assert "load" not in c.raised and "load" not in c.lowered


def test_same_type_and_unit_loads_are_ordered_by_magnitude():
    assert compare(base(), apply_changes(base(), {"load": kg(2.5)})).raised == ["load"]
    assert compare(base(), apply_changes(base(), {"load": kg(0)})).lowered == ["load"]


def test_reps_swapped_for_hold_is_an_unordered_volume_change():
    c = compare(base(), apply_changes(base(), {"hold_s": 30}))
    assert c.unordered == ["volume"]
    assert set(c.changed) == {"reps", "hold_s"}


def test_holds_are_compared_by_total_seconds():
    held = base(reps=None, hold_s=20)
    assert compare(held, apply_changes(held, {"hold_s": 30})).raised == ["volume"]
    assert compare(held, apply_changes(held, {"hold_s": 10})).lowered == ["volume"]


def test_range_words_and_degrees_are_ordered_but_not_against_each_other():
    assert compare(base(), apply_changes(base(), {"range": "full"})).raised == ["range"]
    assert compare(base(), apply_changes(base(), {"range": "partial"})).lowered == ["range"]
    deg = base(range=30)
    assert compare(deg, apply_changes(deg, {"range": 60})).raised == ["range"]
    assert compare(base(), apply_changes(base(), {"range": 90})).unordered == ["range"]


def test_direction_is_never_ordered():
    c = compare(base(), apply_changes(base(), {"direction": {"pattern": "squat", "plane": "sagittal"}}))
    assert c.unordered == ["direction"]
    assert c.raised == [] and c.lowered == []


# ----- check_move: progress ------------------------------------------------------------------


@pytest.mark.parametrize("changes, raised", [
    ({"sets": 4}, ["volume"]),
    ({"reps": 12}, ["volume"]),
    ({"load": kg(4)}, ["load"]),
    ({"position": {"stage": 3, "posture": "wall"}}, ["position"]),
    ({"range": "full"}, ["range"]),
    ({"sets": 4, "load": kg(3), "position": {"stage": 4}}, ["position", "load", "volume"]),
])
def test_progress_that_raises_passes(changes, raised):
    c = move("progress", changes)
    assert sorted(c.raised) == sorted(raised)
    assert c.lowered == [] and c.unordered == []
    for d, v in changes.items():
        assert d in c.changed


def test_progress_may_carry_a_neutral_posture_change_alongside_a_raise():
    c = move("progress", {"position": {"stage": 2, "posture": "tall_kneel"}, "sets": 4})
    assert c.raised == ["volume"]
    assert set(c.changed) == {"position", "sets"}


@pytest.mark.parametrize("changes, dim", [
    ({"sets": 2}, "volume"),
    ({"load": kg(1)}, "load"),
    ({"position": {"stage": 1}}, "position"),
    ({"range": "partial"}, "range"),
    ({"sets": 4, "load": kg(1)}, "load"),  # raises one, lowers another
])
def test_progress_that_lowers_is_refused(changes, dim):
    err = refused("progress", changes)
    assert err.rule == "progression_raises_only"
    assert f"lower {dim} (" in str(err)


def test_progress_changing_no_comparable_dimension_is_refused():
    err = refused("progress", {"cues": ["breathe out"]})
    assert err.rule == "progression_raises_only"
    assert "adapt" in str(err)


@pytest.mark.parametrize("kind", ["progress", "regress"])
@pytest.mark.parametrize("changes, dim", [
    ({"direction": {"pattern": "squat", "plane": "sagittal"}}, "direction"),
    ({"direction": {"pattern": "squat"}, "sets": 4}, "direction"),
    ({"load": {"type": "free_weight", "magnitude": 2, "unit": "lb"}}, "load"),
    ({"load": {"type": "elastic", "magnitude": 2, "unit": "band"}}, "load"),
    ({"hold_s": 30}, "volume"),
])
def test_unordered_change_in_progress_or_regress_is_refused(kind, changes, dim):
    err = refused(kind, changes)
    assert err.rule == "unordered_change"
    assert f"{kind} cannot change" in str(err)
    assert dim in str(err).split(":")[0]


# ----- check_move: regress -------------------------------------------------------------------


@pytest.mark.parametrize("changes, lowered", [
    ({"sets": 2}, ["volume"]),
    ({"load": kg(1)}, ["load"]),
    ({"position": {"stage": 1}}, ["position"]),
    ({"range": "partial"}, ["range"]),
])
def test_regress_that_lowers_passes(changes, lowered):
    c = move("regress", changes)
    assert c.lowered == lowered
    assert c.raised == [] and c.unordered == []


@pytest.mark.parametrize("changes, dim, shown", [
    ({"sets": 4}, "volume", "3x10 -> 4x10"),
    ({"reps": 12}, "volume", "3x10 -> 3x12"),
    ({"load": kg(4)}, "load", "free_weight 2 kg -> free_weight 4 kg"),
    ({"position": {"stage": 3}}, "position", "2 -> 3"),
    ({"range": "full"}, "range", "mid -> full"),
    ({"sets": 2, "load": kg(4)}, "load", "free_weight 2 kg -> free_weight 4 kg"),  # lowers one, raises another
])
def test_regress_that_raises_any_dimension_is_refused_naming_it(changes, dim, shown):
    err = refused("regress", changes)
    assert err.rule == "regression_lowers_only"
    assert f"raise {dim} ({shown})" in str(err)
    assert err.to_dict() == {"kind": "refused", "message": str(err), "rule": "regression_lowers_only"}


def test_regress_that_raises_several_dimensions_names_each():
    err = refused("regress", {"sets": 4, "position": {"stage": 3}})
    assert err.rule == "regression_lowers_only"
    assert "position (2 -> 3)" in str(err) and "volume (3x10 -> 4x10)" in str(err)


def test_regress_changing_no_comparable_dimension_is_refused():
    err = refused("regress", {"protect": ["paraspinals"]})
    assert err.rule == "regression_lowers_only"


# ----- check_move: adapt ---------------------------------------------------------------------


@pytest.mark.parametrize("changes, better", [
    ({"sets": 4}, "progress"),
    ({"load": kg(4), "range": "full"}, "progress"),
    ({"sets": 2}, "regress"),
    ({"position": {"stage": 1}}, "regress"),
])
def test_adapt_that_is_a_pure_progression_or_regression_is_refused(changes, better):
    err = refused("adapt", changes)
    assert err.rule == "adapt_is_not_ordered"
    assert f"`{better}`" in str(err)


@pytest.mark.parametrize("changes", [
    {"direction": {"pattern": "squat", "plane": "sagittal"}},
    {"direction": {"pattern": "squat"}, "sets": 4},
    {"load": {"type": "elastic", "magnitude": 2, "unit": "band"}},
    {"hold_s": 30},
    {"sets": 4, "load": kg(1)},              # raises one, lowers another
    {"cues": ["slow"], "target": ["glutes"]},  # no comparable dimension
    {"position": {"stage": 2, "posture": "tall_kneel"}},
])
def test_adapt_of_unordered_or_mixed_change_passes(changes):
    c = move("adapt", changes)
    assert c.changed
    assert set(changes) <= set(c.changed)


def test_adapt_of_direction_reports_it_as_unordered():
    c = move("adapt", {"direction": {"pattern": "rotation", "plane": "transverse"}})
    assert c.unordered == ["direction"]
    assert c.changed["direction"] == ({"pattern": "hinge", "plane": "sagittal"},
                                      {"pattern": "rotation", "plane": "transverse"})


# ----- check_move: no change -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["progress", "regress", "adapt"])
@pytest.mark.parametrize("changes", [{"sets": 3}, {"load": kg(2)}, {"range": "mid", "reps": 10}])
def test_a_move_that_changes_nothing_is_refused(kind, changes):
    err = refused(kind, changes)
    assert err.rule == "no_change"
    assert str(err).startswith(kind)
