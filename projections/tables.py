"""The read-model tables, all named ``proj_*`` so they sit beside the event store's own tables.

Every table belongs to one projection (see ``projections.registry``), except
the runner's own: ``proj_meta`` (the database id), ``proj_tracking`` (each
projection's position in the notification log) and ``proj_streams`` (which
program or account each event stream belongs to, learned from the stream's
first event). No table has a surrogate key, so a rebuilt table can be compared
row for row with the one built incrementally.

Time keys are ``domain.timeline.time_key`` strings: fixed width, so they sort
like the instants; on PostgreSQL they use the "C" collation to sort by bytes.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

ID = String(64)
KEY = String(32).with_variant(String(32, collation="C"), "postgresql")


def _id(name: str, **kw) -> Column:
    return Column(name, ID, **kw)


def _key(name: str, **kw) -> Column:
    return Column(name, KEY, **kw)


# ----- the runner's own ------------------------------------------------------------------------

meta = Table("proj_meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))

tracking = Table(
    "proj_tracking", metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

streams = Table(
    "proj_streams", metadata,
    _id("stream_id", primary_key=True),
    Column("kind", String(16), nullable=False),
    _id("program_id"), _id("account_id"),
    Column("timezone", String(64)),
    Column("position", BigInteger, nullable=False),  # notification id of the stream's first event
)

# ----- feed ------------------------------------------------------------------------------------

feed = Table(
    "proj_feed", metadata,
    _id("program_id", primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("notification_id", BigInteger, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("type", String(100), nullable=False),
    _id("mutation_id"), _id("device_id"),
    Column("occurred_at", String(40)),
    Column("recorded_at", String(40), nullable=False),
    Column("data", JSON, nullable=False),
)

feed_heads = Table(
    "proj_feed_heads", metadata,
    _id("program_id", primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# ----- program (current) -----------------------------------------------------------------------

programs = Table(
    "proj_programs", metadata,
    _id("program_id", primary_key=True),
    Column("name", Text), Column("timezone", String(64), nullable=False), _key("started"),
    Column("fitting", JSON), Column("version", Integer, nullable=False),
    _key("max_occurred_key", nullable=False), _key("max_recorded_key", nullable=False),
)

program_fields = Table(
    "proj_program_fields", metadata,
    _id("program_id", primary_key=True), _id("entity", primary_key=True),
    Column("field", String(32), primary_key=True),
    _key("occurred_key", nullable=False), Column("version", Integer, nullable=False),
    Column("idx", Integer, nullable=False), Column("value", JSON),
)

program_exercises = Table(
    "proj_program_exercises", metadata,
    _id("program_id", primary_key=True), _id("exercise_id", primary_key=True),
    Column("name", Text, nullable=False), Column("kind", String(64)), _key("added", nullable=False),
    Column("status", String(32), nullable=False), Column("signature", Boolean, nullable=False),
    _id("parent"), Column("components", JSON, nullable=False), Column("prescription", JSON, nullable=False),
)

# ----- timeline (bitemporal) -------------------------------------------------------------------

timeline = Table(
    "proj_timeline", metadata,
    _id("program_id", primary_key=True), _id("entity", primary_key=True),
    Column("field", String(32), primary_key=True),
    _key("occurred_key", primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    _key("recorded_key", nullable=False),
    Column("value", JSON),
)
Index("proj_timeline_asof", timeline.c.program_id, timeline.c.occurred_key)

# ----- decisions and signature -----------------------------------------------------------------

decisions = Table(
    "proj_decisions", metadata,
    _id("program_id", primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    _key("occurred_key", nullable=False),
    Column("command", String(32), nullable=False),
    Column("exercise_ids", JSON, nullable=False),
    Column("occurred_at", String(40), nullable=False), Column("recorded_at", String(40), nullable=False),
    Column("reason", Text), Column("reason_code", String(64)),
    Column("before", JSON), Column("after", JSON),
    _id("device_id"), _id("mutation_id"),
)
Index("proj_decisions_time", decisions.c.program_id, decisions.c.occurred_key)

decision_exercises = Table(
    "proj_decision_exercises", metadata,
    _id("program_id", primary_key=True), _id("exercise_id", primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
)

promotions = Table(
    "proj_promotions", metadata,
    _id("program_id", primary_key=True), _id("exercise_id", primary_key=True),
    Column("version", Integer, nullable=False), Column("promoted_at", String(40), nullable=False),
    Column("forced", Boolean), Column("reason", Text), Column("evidence", JSON),
)

# ----- facts: sessions and pain by day ---------------------------------------------------------

facts = Table(
    "proj_facts", metadata,
    _id("program_id", primary_key=True), _id("fact_id", primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    _key("occurred_key", nullable=False), Column("day", String(10), nullable=False),
    _id("exercise_id"), Column("voided", Boolean, nullable=False),
    Column("data", JSON, nullable=False),  # the fact as FactLog.facts holds it, corrections applied
)
Index("proj_facts_time", facts.c.program_id, facts.c.occurred_key)
Index("proj_facts_day", facts.c.program_id, facts.c.day)

PAIN_SUMS = ("before_sum", "before_n", "after_sum", "after_n", "checkin_sum", "checkin_n")
pain_days = Table(
    "proj_pain_days", metadata,
    _id("program_id", primary_key=True), Column("day", String(10), primary_key=True),
    Column("sessions", Integer, nullable=False),
    Column("pain_before_avg", Float), Column("pain_during_max", Integer), Column("pain_after_avg", Float),
    Column("checkins", Integer, nullable=False), Column("checkin_pain_avg", Float),
    Column("breaks", Integer, nullable=False), Column("flares", Integer, nullable=False),
    # the sums and counts the averages come from, so a day that gains facts adds them without a re-read
    *(Column(name, Integer, nullable=False) for name in PAIN_SUMS),
)
#: The columns of ``pain_days`` that the queries answer (the rest are the projection's own sums).
PAIN_DAY_COLUMNS = tuple(c for c in pain_days.c if c.name != "program_id" and c.name not in PAIN_SUMS)

# ----- tension by muscle and side --------------------------------------------------------------

tension_facts = Table(
    "proj_tension_facts", metadata,
    _id("program_id", primary_key=True), _id("fact_id", primary_key=True),
    _key("occurred_key", nullable=False), Column("day", String(10), nullable=False),
    Column("voided", Boolean, nullable=False),
)

tension = Table(
    "proj_tension", metadata,
    _id("program_id", primary_key=True), _id("fact_id", primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    _key("occurred_key", nullable=False), Column("day", String(10), nullable=False),
    Column("muscle", String(64), nullable=False), Column("side", String(16), nullable=False),
    Column("kind", String(32)), Column("intensity", Integer), Column("voided", Boolean, nullable=False),
)
Index("proj_tension_time", tension.c.program_id, tension.c.occurred_key)

# ----- conflicts and devices -------------------------------------------------------------------

conflicts = Table(
    "proj_conflicts", metadata,
    _id("program_id", primary_key=True), _id("conflict_id", primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),  # the conflict as ConflictLog.conflicts holds it
)

devices = Table(
    "proj_devices", metadata,
    _id("account_id", primary_key=True), _id("device_id", primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("name", Text, nullable=False), Column("paired_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
)
