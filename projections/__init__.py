"""SQL read models fed from the event store (issue 3)."""
