"""Fixed stream ids, apart from their aggregates' modules: looking a stream up need not define its classes.

A store that never synced has no outbox, and reading its program should not
import (and so define) the Outbox aggregate and its events just to learn that.
"""

from __future__ import annotations

from uuid import UUID

# uuid5(NAMESPACE_URL, "https://backstory.invalid/outbox"), written out: computing it imports hashlib at start-up
# (tests/unit/test_fixed_ids.py checks it).
OUTBOX_ID = UUID("27ac397f-4901-5350-9af4-b2e078dc14d1")
