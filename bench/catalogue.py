"""The synthetic person of the benchmarks: exercises, postures, muscles, reasons and the time zone.

Shared by ``history.py`` (the builder) and ``history_moves.py`` (its decisions).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain.evidence import SignatureRule

TZ_NAME = "Europe/Paris"
ACCOUNT = "local"  # the program ``python -m cli`` shows (service.application.program_id_for)
TZ = ZoneInfo(TZ_NAME)
YEARS = 5
DEVICES = ("phone-7a1c", "laptop-03be")
RULE = SignatureRule()

CATALOGUE = [
    # name, kind, prescription
    ("Dead bug", "segmental_control", dict(position={"stage": 1, "posture": "supine"}, sets=3, reps=8,
                                           target=["deep_abdominals"], protect=["hip_flexors"])),
    ("Bird dog", "segmental_control", dict(position={"stage": 2, "posture": "quadruped"}, sets=3, reps=6,
                                           per_side=True, target=["multifidus"], protect=["paraspinals"])),
    ("Glute bridge", "strength", dict(position={"stage": 1, "posture": "supine"}, sets=2, reps=10,
                                      target=["glutes"], protect=["hamstrings"], range="mid")),
    ("Side plank", "endurance", dict(position={"stage": 1, "posture": "side_lying"}, sets=2, hold_s=20,
                                     target=["obliques"], range="partial")),
    ("McGill curl-up", "endurance", dict(position={"stage": 1, "posture": "supine"}, sets=3, hold_s=10,
                                         target=["rectus_abdominis"])),
    ("Cat-camel", "mobility", dict(position={"stage": 2, "posture": "quadruped"}, sets=1, reps=10,
                                   range="partial")),
    ("Pallof press", "strength", dict(position={"stage": 2, "posture": "half_kneeling"}, sets=3, reps=8,
                                      load={"type": "elastic", "magnitude": 1, "unit": "band"},
                                      direction={"pattern": "anti_rotation", "plane": "transverse"})),
    ("Hip hinge", "segmental_control", dict(position={"stage": 4, "posture": "standing"}, sets=3, reps=8,
                                            direction={"pattern": "hinge", "plane": "sagittal"}, range="partial")),
    ("Goblet squat", "strength", dict(position={"stage": 4, "posture": "standing"}, sets=3, reps=6,
                                      load={"type": "free_weight", "magnitude": 4, "unit": "kg"},
                                      direction={"pattern": "squat", "plane": "sagittal"}, range="mid")),
    ("Farmer carry", "endurance", dict(position={"stage": 4, "posture": "walking"}, sets=3, hold_s=30,
                                       load={"type": "free_weight", "magnitude": 6, "unit": "kg"},
                                       direction={"pattern": "carry", "plane": "sagittal"})),
    ("Diaphragmatic breathing", "breathing", dict(position={"stage": 1, "posture": "crook_lying"}, sets=1,
                                                  hold_s=60, target=["deep_abdominals"])),
    ("Prone press-up", "mobility", dict(position={"stage": 1, "posture": "prone"}, sets=2, reps=8,
                                        range="partial", direction={"pattern": "push", "plane": "sagittal"})),
    ("Hamstring stretch", "stretch", dict(position={"stage": 1, "posture": "supine"}, sets=2, hold_s=30,
                                          target=["hamstrings"])),
    ("Clamshell", "strength", dict(position={"stage": 1, "posture": "side_lying"}, sets=2, reps=12,
                                   per_side=True, target=["gluteus_medius"],
                                   load={"type": "elastic", "magnitude": 1, "unit": "band"})),
    ("Wall sit", "endurance", dict(position={"stage": 3, "posture": "wall"}, sets=3, hold_s=20, range="partial")),
    ("Stir the pot", "endurance", dict(position={"stage": 3, "posture": "ball"}, sets=2, reps=6,
                                      direction={"pattern": "anti_extension", "plane": "transverse"})),
    ("Suitcase carry", "strength", dict(position={"stage": 4, "posture": "walking"}, sets=3, hold_s=20,
                                        load={"type": "free_weight", "magnitude": 4, "unit": "kg"},
                                        direction={"pattern": "carry", "plane": "frontal"})),
    ("Hip flexor stretch", "stretch", dict(position={"stage": 2, "posture": "half_kneeling"}, sets=2,
                                           hold_s=30, target=["hip_flexors"])),
]
POSTURES = {1: "supine", 2: "quadruped", 3: "supported", 4: "standing"}
PATTERNS = ("push", "pull", "hinge", "squat", "lunge", "carry", "rotation", "anti_rotation",
            "anti_extension", "anti_flexion", "isometric")
PLANES = ("sagittal", "frontal", "transverse")
CUES = ("brace gently", "breathe out on effort", "neutral spine", "slow on the way down",
        "ribs down", "long neck", "stop before the pinch", "feel the glutes first")
MUSCLES = ("paraspinals", "multifidus", "quadratus_lumborum", "hip_flexors", "glutes", "gluteus_medius",
           "obliques", "hamstrings", "upper_trapezius")
SIDES = ("left", "right", "both")
TENSION_KINDS = ("overactive", "guarding", "underactive", "cramping")
BREAKS = ("stand", "walk", "extend", "rotate", "reset")
REGIONS = ("low_back", "left_buttock", "right_buttock", "left_thigh", "right_thigh", "left_hip", "mid_back")
REASONS = {
    "progress": [("easy for a week, no pain after", "too_easy"), ("therapist: ready for more", "therapist"),
                 ("plateau, time to load", "plateau")],
    "regress": [("pain after sessions", "pain"), ("flare: reduce volume", "flare"),
                ("technique breaks down", "technique")],
    "adapt": [("new variation to avoid the pinch", "technique"), ("equipment at the gym", "schedule"),
              ("therapist suggestion", "therapist")],
    "pause": [("travelling", "schedule"), ("flare", "flare")],
    "resume": [("back home", "schedule"), ("flare over", "flare")],
    "retire": [("no longer needed", "other"), ("replaced by a harder variant", "plateau")],
    "deconstruct": [("aggravates the right QL; work the parts", "pain"), ("too complex, split it", "technique")],
    "rebuild": [("components mastered", "evidence")],
    "promote": [("calms the back every time", "evidence"), ("therapist is confident", "therapist")],
    "demote": [("no longer reliable", "pain")],
}


# ----- building the history ------------------------------------------------------------------------


