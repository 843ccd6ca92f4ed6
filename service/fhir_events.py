"""The event resources of the FHIR export: sessions, pain scores and assessments (``service.fhir``).

A logged session is a ``Procedure``; each pain score (a session's before,
during and after, a next-morning answer, a check-in, the pain on waking a sleep
record gives) an ``Observation`` coded
LOINC 72514-3; an assessment a ``QuestionnaireResponse`` (item answers only,
no item texts) with a score ``Observation`` in the local code system.
"""

from __future__ import annotations

from typing import Any

from service.fhir import LOCAL, Context, ref, resource_id

LOINC = "http://loinc.org"
PAIN = {"system": LOINC, "code": "72514-3",
        "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}
SURVEY = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                       "code": "survey", "display": "Survey"}]}]
MOMENTS = {"pain_before": "before", "pain_during": "during", "pain_after": "after"}
MOMENT_TEXT = {"before": "before the session", "during": "during the session", "after": "after the session",
               "next-morning": "the next morning", "check-in": "check-in", "on-waking": "on waking"}
SCORES = {"odi": "Oswestry Disability Index v2.1a score (%)", "rmdq": "Roland-Morris Disability Questionnaire score",
          "psfs": "Patient-Specific Functional Scale mean score", "nprs": "Numeric pain rating scale score"}


def _procedure(ctx: Context, f: dict, pid: str) -> dict:
    proc: dict[str, Any] = {
        "resourceType": "Procedure", "id": pid, "status": "completed", "subject": ref(ctx.patient),
        "code": {"text": f.get("exercise") or "exercise"}, "performedDateTime": ctx.time(f["occurred_at"]),
    }
    request = ctx.request_for(f.get("exercise_id"), f["key"])
    if request:
        proc["basedOn"] = [ref(request)]
    done = [f"{k}: {f[k]}" for k in ("sets", "reps") if f.get(k) is not None]
    if f.get("hold_s") is not None:
        done.append(f"hold: {f['hold_s']} s")
    load = f.get("load")
    if load and load.get("magnitude") is not None:
        done.append(f"load: {load['type']} {load['magnitude']:g} {load.get('unit') or ''}".rstrip())
    notes = ([{"text": "; ".join(done)}] if done else []) + ([{"text": f["note"]}] if f.get("note") else [])
    if notes:
        proc["note"] = notes
    return proc


def _pain(ctx: Context, f: dict, moment: str, value: int, **links: Any) -> dict:
    return {
        "resourceType": "Observation", "id": resource_id(ctx.program_id, "pain", f["id"], moment),
        "status": "final", "category": SURVEY, "code": {"coding": [PAIN], "text": PAIN["display"]},
        "subject": ref(ctx.patient), "effectiveDateTime": ctx.time(f["occurred_at"]), "valueInteger": value,
        "component": [{"code": {"coding": [{"system": f"{LOCAL}/observation", "code": "pain-moment",
                                            "display": "When the pain was rated"}]},
                       "valueCodeableConcept": {"coding": [{"system": f"{LOCAL}/pain-moment", "code": moment,
                                                            "display": MOMENT_TEXT[moment]}]}}],
        **links,
    }


def _items(f: dict, names: dict[str, str]) -> list[dict]:
    """The item answers by number or activity id (no questionnaire wording is shipped)."""
    answers, instrument = f["answers"], f["instrument"]
    if instrument == "odi":
        return [{"linkId": f"odi-{n}", "answer": [{"valueInteger": v}]}
                for n, v in enumerate(answers, 1) if v is not None]
    if instrument == "rmdq":
        return [{"linkId": f"rmdq-{n}", "answer": [{"valueBoolean": n in answers}]} for n in range(1, 25)]
    if instrument == "psfs":
        return [{"linkId": f"psfs-{a}", **({"text": names[a]} if names.get(a) else {}),
                 "answer": [{"valueInteger": v}]} for a, v in sorted(answers.items())]
    return [{"linkId": "nprs-pain", "answer": [{"valueInteger": answers["pain"]}]}]


def _assessment(ctx: Context, f: dict, names: dict[str, str]) -> list[dict]:
    qid = resource_id(ctx.program_id, "questionnaireresponse", f["id"])
    instrument, score = f["instrument"], f["score"]
    response = {
        "resourceType": "QuestionnaireResponse", "id": qid, "status": "completed", "subject": ref(ctx.patient),
        "authored": ctx.time(f["occurred_at"]), "author": ref(ctx.patient), "item": _items(f, names),
        "identifier": {"system": f"{LOCAL}/instrument", "value": f"{instrument}-{f['instrument_version']}"},
    }
    if isinstance(score, int) and not isinstance(score, bool):
        value: dict[str, Any] = {"valueInteger": score}
    else:
        unit = "%" if instrument == "odi" else "{score}"
        value = {"valueQuantity": {"value": score, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}
    observation = {
        "resourceType": "Observation", "id": resource_id(ctx.program_id, "score", f["id"]), "status": "final",
        "category": SURVEY, "subject": ref(ctx.patient), "effectiveDateTime": ctx.time(f["occurred_at"]),
        "code": {"coding": [{"system": f"{LOCAL}/outcome-score", "code": f"{instrument}-score",
                             "display": SCORES[instrument]}, *([PAIN] if instrument == "nprs" else [])],
                 "text": SCORES[instrument]},
        "derivedFrom": [ref(qid)], **value,
    }
    return [response, observation]


def events(ctx: Context, facts: list[dict], named: dict[str, str] | None = None) -> list[dict]:
    """The event resources of facts (not voided, in time order); ``named``: the PSFS activities' names given
    before the first of them."""
    out: list[dict] = []
    procedures: dict[str, str] = {}
    names: dict[str, str] = dict(named or {})
    for f in facts:
        if f["type"] == "log":
            pid = resource_id(ctx.program_id, "procedure", f["id"])
            procedures[f["id"]] = pid
            out.append(_procedure(ctx, f, pid))
            out += [_pain(ctx, f, moment, f[field], partOf=[ref(pid)])
                    for field, moment in MOMENTS.items() if f.get(field) is not None]
        elif f["type"] == "next-day" and f.get("pain") is not None:
            session = procedures.get(f.get("session_id") or "")
            out.append(_pain(ctx, f, "next-morning", f["pain"], **({"focus": [ref(session)]} if session else {})))
        elif f["type"] == "checkin":
            out.append(_pain(ctx, f, "check-in", f["pain"]))
        elif f["type"] == "sleep" and f.get("pain_morning") is not None:
            out.append(_pain(ctx, f, "on-waking", f["pain_morning"]))
        elif f["type"] == "assess":
            names.update(f.get("activity_names") or {})  # a PSFS activity keeps the name it was last given
            out += _assessment(ctx, f, names)
    return out
