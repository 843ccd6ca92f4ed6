"""Read-side questions answered from the read models, in the shapes of ``service.queries``.

Every function takes an open connection (the caller gives one transaction,
so an answer never mixes two catch-up steps) and returns plain JSON-ready
values. ``program`` answers from the current-program tables when nothing in
the program is later than ``as_of``/``known_at``, and otherwise with one
window query over the bitemporal timeline: for each (entity, field), the row
latest in (valid time, version) among those valid by ``as_of`` and recorded by
``known_at``; ``domain.view.materialize`` then builds the same view the
aggregate would.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select
from sqlalchemy.engine import RowMapping

from domain.errors import NotFound
from domain.policies import PolicyBook
from domain.timeline import PROGRAM, time_key
from domain.view import ExerciseView, ProgramView, materialize
from projections.facts import avg
from projections.outcomes import assessments
from projections.tables import conflicts as conflicts_t
from projections.tables import (
    PAIN_DAY_COLUMNS,
    decision_exercises,
    decisions,
    facts,
    pain_days,
    program_exercises,
    programs,
    promotions,
    timeline,
)
from projections.tables import devices as devices_t
from projections.tables import tension as tension_t
from service.insights.fittings import fitting_due, shown
from service.naming import resolve_exercise

NO_PROGRAM = "there is no program yet; start one with `backstory init --name NAME`"
SESSION_FIELDS = ("id", "exercise_id", "exercise", "occurred_at", "recorded_at", "device_id", "sets", "reps",
                  "hold_s", "load", "pain_before", "pain_during", "pain_after", "effort", "tension", "note",
                  "voided", "corrections")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def require_program(conn: Connection, program_id: str) -> RowMapping:
    head = conn.execute(select(programs).where(programs.c.program_id == program_id)).mappings().first()
    if head is None:
        raise NotFound("program", NO_PROGRAM)
    return head


def timezone(conn: Connection, program_id: str) -> str | None:
    return conn.execute(select(programs.c.timezone).where(programs.c.program_id == program_id)).scalar()


def current_view(conn: Connection, head: RowMapping) -> ProgramView:
    """The program as of the end of time, as known now, from the current-program tables."""
    rows = conn.execute(select(program_exercises).where(program_exercises.c.program_id == head["program_id"])
                        ).mappings().all()
    exercises = [ExerciseView(id=r["exercise_id"], name=r["name"], kind=r["kind"], added=r["added"],
                              status=r["status"], signature=r["signature"], parent=r["parent"],
                              components=list(r["components"]), prescription=dict(r["prescription"]))
                 for r in rows]
    exercises.sort(key=lambda e: (e.added, e.name.lower()))
    return ProgramView(name=head["name"], timezone=head["timezone"], started=head["started"],
                       fitting=head["fitting"], exercises={e.id: e for e in exercises})


def view_at(conn: Connection, program_id: str, as_of: datetime, known_at: datetime | None) -> ProgramView:
    """The program as of valid time ``as_of`` as known at recorded time ``known_at``, from the timeline."""
    t = timeline
    # The latest value of each field, but the earliest of the program's start (``domain.timeline.earliest_wins``):
    # the first key is null, a tie, for the start's rows, so the second orders them from the earliest.
    latest_first = case((and_(t.c.entity == PROGRAM, t.c.field == "started"), None), else_=t.c.occurred_key)
    rank = func.row_number().over(partition_by=(t.c.entity, t.c.field),
                                  order_by=(latest_first.desc(), t.c.occurred_key.asc(), t.c.version.desc(),
                                            t.c.idx.desc()))
    inner = select(t.c.entity, t.c.field, t.c.value, rank.label("rank")).where(
        t.c.program_id == program_id, t.c.occurred_key <= time_key(as_of))
    if known_at is not None:
        inner = inner.where(t.c.recorded_key <= time_key(known_at))
    latest = inner.subquery()
    state: dict[str, dict[str, Any]] = defaultdict(dict)
    for entity, field, value in conn.execute(
            select(latest.c.entity, latest.c.field, latest.c.value).where(latest.c.rank == 1)):
        state[entity][field] = value
    return materialize(state)


def program(conn: Connection, program_id: str, as_of: datetime, known_at: datetime | None) -> dict[str, Any]:
    head = require_program(conn, program_id)
    latest = time_key(as_of) >= head["max_occurred_key"] and (
        known_at is None or time_key(known_at) >= head["max_recorded_key"])
    view = current_view(conn, head) if latest else view_at(conn, program_id, as_of, known_at)
    return {
        "as_of": as_of.isoformat(), "known_at": _iso(known_at),
        "program": {"name": view.name or head["name"],
                    "timezone": view.timezone if view.started is not None else head["timezone"],
                    "started": view.started is not None, "fitting": shown(view.fitting)},
        "version": head["version"],
        "exercises": [e.to_dict() for e in view.exercises.values()],
        "fitting_due": view.fitting is not None and fitting_due(
            view.fitting, policy_book(conn, program_id, known_at), as_of),
    }


def policy_book(conn: Connection, program_id: str, known_at: datetime | None = None) -> PolicyBook:
    """The program's policy changes (``policy-set`` decisions), as recorded by ``known_at`` if given."""
    q = select(decisions.c.occurred_at, decisions.c.recorded_at, decisions.c.after).where(
        decisions.c.program_id == program_id, decisions.c.command == "policy-set").order_by(decisions.c.version)
    return PolicyBook.from_changes(
        (r.after["policy"], datetime.fromisoformat(r.occurred_at), r.after["params"]) for r in conn.execute(q)
        if known_at is None or datetime.fromisoformat(r.recorded_at) <= known_at)


def after_key(columns: list, key: list | None):
    """The rows after ``key`` in the order of ``columns`` (a keyset page), or None for the first page."""
    if key is None:
        return None
    condition = None
    for column, value in reversed(list(zip(columns, key, strict=True))):
        condition = column > value if condition is None else or_(column > value, and_(column == value, condition))
    return condition


def _keyset(conn: Connection, q, order: list, after: list | None, limit: int | None,
            key: tuple[str, ...]) -> tuple[list, list | None, bool]:
    """The rows of ``q`` in ``order`` after the keyset ``after``, at most ``limit`` (all when None); the
    keyset (columns ``key``) of the last one; and whether more follow."""
    if after is not None:
        q = q.where(after_key(order, after[:len(order)]))
    if limit is not None:
        q = q.limit(limit + 1)
    rows = conn.execute(q.order_by(*order)).mappings().all()
    has_more = limit is not None and len(rows) > limit
    rows = rows[:limit] if has_more else rows
    return rows, ([rows[-1][k] for k in key] if rows else None), has_more


HISTORY_KEY = ("occurred_key", "version")
SESSIONS_KEY = ("occurred_key", "position", "fact_id", "day")
CONFLICTS_KEY = ("position", "conflict_id")


def history(conn: Connection, program_id: str, exercise: str | None = None, since: datetime | None = None,
            until: datetime | None = None, after: list | None = None, limit: int | None = None) -> dict[str, Any]:
    """Decisions oldest first; with ``limit``, one page after the keyset ``after`` (``HISTORY_KEY``),
    its last key as ``last_key`` and ``has_more``."""
    head = require_program(conn, program_id)
    current = current_view(conn, head)
    names = {e.id: e.name for e in current.exercises.values()}
    wanted = resolve_exercise(current, exercise).id if exercise else None
    q = select(decisions).where(decisions.c.program_id == program_id)
    if since is not None:
        q = q.where(decisions.c.occurred_key >= time_key(since))
    if until is not None:
        q = q.where(decisions.c.occurred_key <= time_key(until))
    if wanted is not None:
        q = q.join(decision_exercises, (decision_exercises.c.program_id == decisions.c.program_id)
                   & (decision_exercises.c.version == decisions.c.version)
                   ).where(decision_exercises.c.exercise_id == wanted)
    rows, last_key, has_more = _keyset(conn, q, [decisions.c.occurred_key, decisions.c.version], after, limit,
                                       HISTORY_KEY)
    entries = []
    for r in rows:
        ids = r["exercise_ids"]
        entries.append({
            "type": r["command"], "exercise": names.get(ids[0]) if ids else None,
            "exercise_id": ids[0] if ids else None, "occurred_at": r["occurred_at"],
            "recorded_at": r["recorded_at"], "reason": r["reason"], "reason_code": r["reason_code"],
            "from": r["before"], "to": r["after"], "device_id": r["device_id"], "mutation_id": r["mutation_id"],
            "version": r["version"],
        })
    out = {"exercise": names.get(wanted) if wanted else None, "since": _iso(since), "until": _iso(until),
           "entries": entries}
    return out if limit is None else {**out, "last_key": last_key, "has_more": has_more}


def sessions(conn: Connection, program_id: str, since: datetime | None, until: datetime | None,
             after: list | None = None, limit: int | None = None, exercise: str | None = None) -> dict[str, Any]:
    """Logged sessions by valid time, each with its pain-monitoring light (``service.insights.lights``);
    of one exercise (name or id prefix) if given; with ``limit``, one page after the keyset ``after``
    (``SESSIONS_KEY``), its last key as ``last_key`` and ``has_more``."""
    head = require_program(conn, program_id)
    order = [facts.c.occurred_key, facts.c.position, facts.c.fact_id]
    q = select(facts.c.data, *order, facts.c.day).where(facts.c.program_id == program_id, facts.c.type == "log")
    if exercise is not None:
        wanted = resolve_exercise(current_view(conn, head), exercise).id
        q = q.where(facts.c.data["exercise_id"].as_string() == wanted)
    if since is not None:
        q = q.where(facts.c.occurred_key >= time_key(since))
    if until is not None:
        q = q.where(facts.c.occurred_key <= time_key(until))
    rows, last_key, has_more = _keyset(conn, q, order, after, limit, SESSIONS_KEY)  # the day only rides along
    out = {"since": _iso(since), "until": _iso(until), "sessions": _judged(conn, program_id, [r["data"] for r in rows])}
    return out if limit is None else {**out, "last_key": last_key, "has_more": has_more}


def _judged(conn: Connection, program_id: str, logs: list[dict]) -> list[dict]:
    """Each session's fields, and its light under the policy in force then with its next-day response."""
    from service.insights.lights import judged, next_days

    if not logs:
        return []
    first, last = (datetime.fromisoformat(logs[i]["occurred_at"]) for i in (0, -1))
    found = conn.execute(select(facts.c.data).where(
        facts.c.program_id == program_id, facts.c.type == "next-day", facts.c.occurred_key >= time_key(first),
        facts.c.occurred_key <= time_key(last + timedelta(days=3)))).all()
    responses = next_days([r.data for r in found])
    book = policy_book(conn, program_id)
    return [{**{k: s.get(k) for k in SESSION_FIELDS},
             **judged(s, responses.get(s["id"]), book.at("pain-monitoring", datetime.fromisoformat(s["occurred_at"])))}
            for s in logs]


def tension(conn: Connection, program_id: str, since: datetime | None, until: datetime | None) -> list[dict]:
    """Tension observations of the non-voided sessions in the range, counted by muscle and side."""
    t = tension_t
    q = select(t.c.muscle, t.c.side, func.count().label("n"), func.max(t.c.intensity).label("max_intensity")
               ).where(t.c.program_id == program_id, t.c.voided.is_(False))
    if since is not None:
        q = q.where(t.c.occurred_key >= time_key(since))
    if until is not None:
        q = q.where(t.c.occurred_key <= time_key(until))
    rows = conn.execute(q.group_by(t.c.muscle, t.c.side)).all()
    rows = sorted(rows, key=lambda r: (-r.n, (r.muscle, r.side)))
    return [{"muscle": r.muscle, "side": r.side, "count": r.n, "max_intensity": r.max_intensity} for r in rows]


def _logs_by_exercise(conn: Connection, program_id: str, since: datetime, until: datetime) -> list[dict]:
    """Sessions per exercise with their pain, summed by the database (a recap read every note's JSON before)."""
    d = facts.c.data
    before, after, during = d["pain_before"].as_integer(), d["pain_after"].as_integer(), d["pain_during"].as_integer()
    name = d["exercise"].as_string()
    rows = conn.execute(
        select(name.label("name"), func.count().label("n"), func.sum(before).label("b_sum"),
               func.count(before).label("b_n"), func.sum(after).label("a_sum"), func.count(after).label("a_n"),
               func.max(during).label("d_max"))
        .where(facts.c.program_id == program_id, facts.c.type == "log", facts.c.voided.is_(False),
               facts.c.occurred_key >= time_key(since), facts.c.occurred_key <= time_key(until))
        .group_by(name)).all()
    rows = sorted(rows, key=lambda r: (-r.n, r.name.lower()))
    return [{"exercise": r.name, "sessions": r.n,
             "pain_before_avg": round(r.b_sum / r.b_n, 2) if r.b_n else None,
             "pain_after_avg": round(r.a_sum / r.a_n, 2) if r.a_n else None,
             "pain_during_max": r.d_max} for r in rows]


def recap(conn: Connection, program_id: str, since: datetime, until: datetime, tz) -> dict[str, Any]:
    from projections.record import projected_record  # it reads this module's queries
    from service.insights.breaks import share_days_met
    from service.insights.lights import recap_lights

    record = projected_record(conn, program_id)
    by_exercise = _logs_by_exercise(conn, program_id, since, until)
    d = facts.c.data
    found = conn.execute(
        select(facts.c.type, d["occurred_at"].as_string().label("occurred_at"),
               d["verdict"].as_string().label("verdict"), d["pain"].as_integer().label("pain"))
        .where(facts.c.program_id == program_id, facts.c.voided.is_(False),
               facts.c.type.in_(("break", "next-day", "checkin", "flare-start")),
               facts.c.occurred_key >= time_key(since), facts.c.occurred_key <= time_key(until))
        .order_by(facts.c.occurred_key, facts.c.position)).all()
    breaks = [f for f in found if f.type == "break"]
    per_day = Counter(datetime.fromisoformat(f.occurred_at).astimezone(tz).date().isoformat() for f in breaks)
    checkins = [f for f in found if f.type == "checkin"]
    return {
        "since": since.isoformat(), "until": until.isoformat(),
        "sessions": sum(e["sessions"] for e in by_exercise),
        "by_exercise": by_exercise,
        "tension": [{"muscle": t["muscle"], "side": t["side"], "count": t["count"]}
                    for t in tension(conn, program_id, since, until)],
        "breaks": len(breaks),
        "breaks_per_day": dict(sorted(per_day.items())),
        "breaks_share_days_met": share_days_met(record, since, until, datetime.now(UTC)),
        "next_day": dict(Counter(f.verdict for f in found if f.type == "next-day")),
        "checkins": len(checkins), "checkin_pain_avg": avg([c.pain for c in checkins]),
        "flares": sum(1 for f in found if f.type == "flare-start"),
        "assessments": assessments(conn, program_id, since, until),
        "decisions": history(conn, program_id, since=since, until=until)["entries"],
        "lights": recap_lights(record, since, until),
    }


def pain_by_day(conn: Connection, program_id: str, since: str | None = None, until: str | None = None,
                after: str | None = None) -> list[dict]:
    """Per local day (``YYYY-MM-DD`` in the program's time zone): sessions, pain, check-ins, breaks, flares.

    From ``since`` or from after the day ``after``, up to ``until``, all included when given.
    """
    q = select(*PAIN_DAY_COLUMNS).where(pain_days.c.program_id == program_id)
    if after is not None:
        q = q.where(pain_days.c.day > after)
    if since is not None:
        q = q.where(pain_days.c.day >= since)
    if until is not None:
        q = q.where(pain_days.c.day <= until)
    return [dict(r) for r in conn.execute(q.order_by(pain_days.c.day)).mappings()]


def signature(conn: Connection, program_id: str) -> dict[str, Any]:
    head = require_program(conn, program_id)
    view = current_view(conn, head)
    promoted = {r["exercise_id"]: r for r in conn.execute(
        select(promotions).where(promotions.c.program_id == program_id)).mappings()}
    out = []
    for ex in view.exercises.values():
        if not ex.signature:
            continue
        p = promoted.get(ex.id)
        out.append({"id": ex.id, "name": ex.name, "status": ex.status,
                    "promoted_at": p["promoted_at"] if p else None, "forced": p["forced"] if p else None,
                    "reason": p["reason"] if p else None, "evidence": p["evidence"] if p else None})
    return {"exercises": out}


def conflicts(conn: Connection, program_id: str) -> list[dict]:
    return conflicts_page(conn, program_id)[0]


def conflicts_page(conn: Connection, program_id: str, after: list | None = None,
                   limit: int | None = None) -> tuple[list[dict], list | None, bool]:
    """Conflicts in recorded order; with ``limit``, one page after the keyset ``after`` (``CONFLICTS_KEY``).

    The page, its last key and whether more follow.
    """
    order = [conflicts_t.c.position, conflicts_t.c.conflict_id]
    q = select(conflicts_t.c.data, *order).where(conflicts_t.c.program_id == program_id)
    rows, last_key, has_more = _keyset(conn, q, order, after, limit, CONFLICTS_KEY)
    return [r["data"] for r in rows], last_key, has_more


def devices(conn: Connection, account_id: str) -> list[dict]:
    rows = conn.execute(select(devices_t).where(devices_t.c.account_id == account_id)
                        .order_by(devices_t.c.position)).mappings()
    return [{"device_id": r["device_id"], "name": r["name"], "paired_at": r["paired_at"],
             "revoked_at": r["revoked_at"]} for r in rows]
