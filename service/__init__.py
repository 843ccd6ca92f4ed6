"""The application layer: one command path and the queries, over the event store.

``service.application.BackstoryApp`` wires the domain to eventsourcing's
persistence; ``service.handling.handle`` is the single path every mutation
takes, whether it comes from the CLI or (later) the sync API; the query
functions return plain, JSON-ready values.
"""
