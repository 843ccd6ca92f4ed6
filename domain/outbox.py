"""A device's outbox: the mutations it made that the server has not answered yet, and its place in the feed.

Lives only in a device's own store. Each mutation gets the next ``seq`` when it
is queued and keeps it through every retry, so a push whose reply was lost is
sent again unchanged and the server answers ``duplicate``. ``Pulled`` records
the feed cursor in the same transaction as the replicated events it covers.

The one exception: when the server already holds some of those seqs from other
mutations of this device (a restored copy of its home, or a second home with
the same token), the unanswered mutations are queued again under seqs after
the server's last (``requeue``); an item queued again names the seq it
``requeued_from``, which it leaves. Each item keeps ``queued_at``, the time it
was first queued (the Queued event's timestamp): reads show it as the pending
change's recorded time.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ids import OUTBOX_ID  # noqa: F401 - the outbox's id, also importable from here


class Outbox(Aggregate):
    """Queued mutations by seq, what the server said of them, and the feed cursor."""

    class Event(Aggregate.Event):
        """Base of the outbox's events, declared so that eventsourcing does not define each twice (see Program.Event)."""

    class Started(Aggregate.Created, Event):
        """The device's outbox was made (its first queued change)."""

        class_version = 1

    class Queued(Event):
        """Mutations given their seqs; ``standalone`` counts local mutations queued from before linking."""

        class_version = 1
        items: list
        standalone: int

        def apply(self, outbox: Outbox) -> None:
            for item in self.items:  # first leave every old place, so a block can move onto itself
                moved = item.get("requeued_from")
                if moved is not None and outbox.items.get(str(moved), {}).get("mutation_id") == item["mutation_id"]:
                    del outbox.items[str(moved)]
            for item in self.items:
                outbox.items[str(item["seq"])] = {**item, "queued_at": item.get("queued_at") or self.timestamp.isoformat()}
                outbox.next_seq = max(outbox.next_seq, item["seq"] + 1)
            outbox.standalone = max(outbox.standalone, self.standalone)

    class Acknowledged(Event):
        """The server answered every mutation up to a seq; those leave the outbox."""

        class_version = 1
        up_to_seq: int
        statuses: dict

        def apply(self, outbox: Outbox) -> None:
            for seq in [s for s in outbox.items if int(s) <= self.up_to_seq]:
                del outbox.items[seq]
            outbox.acked_seq = max(outbox.acked_seq, self.up_to_seq)
            # The server holds seqs up to here: never hand one of them out again.
            outbox.next_seq = max(outbox.next_seq, self.up_to_seq + 1)

    class Pulled(Event):
        """A page of the feed was pulled: the cursor moves, the device is linked to the server's program."""

        class_version = 1
        cursor: str
        program_id: str | None
        entries: int

        def apply(self, outbox: Outbox) -> None:
            outbox.cursor = self.cursor
            outbox.program_id = self.program_id or outbox.program_id
            outbox.linked = True

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}
        self.next_seq = 1
        self.acked_seq = 0
        self.standalone = 0
        self.cursor: str | None = None
        self.program_id: str | None = None
        self.linked = False

    @classmethod
    def start(cls) -> Outbox:
        return cls._create(cls.Started, id=OUTBOX_ID)

    def queue(self, mutations: list[dict], standalone: int | None = None) -> list[int]:
        """Give each mutation the next seq; returns the seqs."""
        items = [{**m, "seq": self.next_seq + i} for i, m in enumerate(mutations)]
        self.trigger_event(self.Queued, items=items, standalone=self.standalone if standalone is None else standalone)
        return [i["seq"] for i in items]

    def requeue(self, items: list[dict], start: int) -> None:
        """Give these pending mutations new seqs from ``start`` on, in their order (the server used their seqs)."""
        moved = [{**i, "seq": start + n, "requeued_from": i["seq"]} for n, i in enumerate(items)]
        self.trigger_event(self.Queued, items=moved, standalone=self.standalone)

    def pending(self) -> list[dict]:
        return [self.items[k] for k in sorted(self.items, key=int)]

    def acknowledge(self, up_to_seq: int, statuses: dict) -> None:
        if up_to_seq > self.acked_seq:
            self.trigger_event(self.Acknowledged, up_to_seq=up_to_seq, statuses=statuses)

    def pulled(self, cursor: str, program_id: UUID | str | None, entries: int) -> None:
        self.trigger_event(self.Pulled, cursor=cursor, program_id=str(program_id) if program_id else None,
                           entries=entries)
