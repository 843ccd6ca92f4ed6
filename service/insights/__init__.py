"""What the record says back (SPEC 9): insights computed from the facts, never stored as events.

Each module answers one question as a pure function of a ``service.record.Record``
(the CLI's from the event store, the API's from the read models), under the policy
in force at each fact's valid time (``domain.policies``). Every result names the rule
version it came from, and every suggestion the ids of the facts it rests on. They are
heuristics drawn from the clinical literature, not diagnoses.
"""

HEURISTICS_NOTE = "Heuristics from the clinical literature, not a diagnosis: discuss changes with your clinician."
