"""SQL read models fed from the event store (SPEC 6, issue 3).

``Projections(app, url)`` opens them in the store's own database (the same
SQLite file; the same PostgreSQL database and schema) and creates their tables
when missing. Each projection has a tracking row, so every notification is
applied exactly once, a restart resumes where the last commit stopped, and
``catch_up()`` may run in several threads or processes at once:

- ``feed``: each program's sync feed, positions 1, 2, 3... (``GET /v1/sync/pull``);
- ``program``: the current program; ``timeline``: every decision effect along
  valid and recorded time, for the program as of D as known at T;
- ``decisions``: the decision log (history, recap); ``signature``: promotions;
- ``sessions``: facts with corrections, and pain by day; ``tension``: by muscle and side;
- ``conflicts``: per program; ``devices``: per account.

Queries return the shapes of ``service.queries`` (``program`` = ``show``).
Modules: ``engine`` (database), ``tables``, ``runner`` (tracking, catch-up,
rebuild), ``streams`` (stream -> program), one module per group of
projections, ``queries`` (reads), ``facade`` (this interface).
"""

from projections.facade import Projections
from projections.feed import stored_event
from projections.registry import NAMES

__all__ = ["NAMES", "Projections", "stored_event"]
