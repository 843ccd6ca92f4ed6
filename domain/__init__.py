"""The backstory domain: a person's exercise-therapy program as immutable events.

Decisions change the plan (``domain.program``); facts record what happened
(``domain.facts``). Nothing here touches storage, HTTP or the terminal: the
modules import only the standard library and ``eventsourcing.domain``.
"""
