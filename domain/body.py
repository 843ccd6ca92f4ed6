"""The body's vocabulary of tension: the muscles, the sides and the kinds a person can record.

Plain tuples with no other import, so a command's options can offer them as choices
without loading the value objects (``backstory --help`` lists every command).
"""

MUSCLES = (
    "paraspinals", "multifidus", "quadratus_lumborum", "hip_flexors",
    "upper_trapezius", "lower_trapezius", "glutes", "gluteus_medius",
    "deep_abdominals", "obliques", "rectus_abdominis", "hamstrings",
)
SIDES = ("left", "right", "both")
TENSION_KINDS = ("overactive", "underactive", "guarding", "cramping")
