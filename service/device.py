"""The CLI as a syncing device: work offline, push the outbox, pull the feed, converge.

Before its first sync a device's store is standalone: mutations apply to its
own program. The first sync queues every one of them (with seqs) and pushes
them; from then on the device is *linked*: its program is a verbatim replica
of the server's events for the account (same ids, versions and recorded
times, so every device shows the same program and history), and new
mutations wait in the outbox. Reads then see the replica with the pending
mutations applied on top, in memory.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.errors import DomainError, Refused
from domain.ids import OUTBOX_ID
from service.application import BackstoryApp, Ledger, UnitOfWork, program_id_for
from service.remote import HttpRemote, RemoteError

if TYPE_CHECKING:
    from domain.outbox import Outbox
    from service.mutation import Mutation
# service.handling (every command's rules, the fact validators) is imported where a mutation is run:
# a read of a device that has nothing pending never needs it.

BATCH = 500
#: Times one sync re-numbers its pending mutations before it gives up (another home keeps using the same seqs).
RENUMBER_TRIES = 20
WIRE_FIELDS = ("mutation_id", "seq", "type", "occurred_at", "base_version", "args")
#: Bytes of one push body: under the server's 1 MiB cap (``api.limits.MAX_BODY_BYTES``), room kept for the envelope.
BATCH_BYTES = 1024 * 1024 - 16 * 1024
STARTED_TOPIC = "domain.program:Program.Started"
DEVICE_FIELDS = ("device", "name", "action", "by", "by_name")


def _wire(item: dict) -> dict:
    """An outbox item as the push sends it (the outbox keeps more: when it was queued, where it moved from)."""
    return {k: item[k] for k in WIRE_FIELDS if k in item}


def _batch(pending: list[dict]) -> list[dict]:
    """The next push: at most BATCH mutations and BATCH_BYTES of JSON as ``HttpRemote`` sends them (at least one).

    Counted in mutations only, a backlog of long notes went over the server's
    body cap, and every sync from then on was refused (413).
    """
    out, size = [], 0
    for item in pending[:BATCH]:
        size += len(json.dumps(_wire(item))) + 2
        if out and size > BATCH_BYTES:
            break
        out.append(item)
    return out


def outbox_item(m: Mutation) -> dict:
    """A mutation as the outbox queues it (its seq is given when it is queued)."""
    return {"mutation_id": m.mutation_id, "type": m.type, "occurred_at": m.occurred_at.isoformat(),
            "base_version": m.base_version, "args": m.args}


def queued_at(item: dict) -> datetime:
    """When an outbox item was queued (an item from before that was kept: its valid time, also stable)."""
    return datetime.fromisoformat(item.get("queued_at") or item["occurred_at"])


def _as_mutation(item: dict, device_id: str) -> Mutation:
    from service.mutation import Mutation

    return Mutation(item["mutation_id"], item["type"], datetime.fromisoformat(item["occurred_at"]), device_id,
                    item["args"], base_version=item.get("base_version"), seq=item["seq"])


class DeviceStore:
    """One device's store: its standalone program, the replica once linked, and the outbox."""

    def __init__(self, app: BackstoryApp, device_id: str):
        self.app = app
        self.device_id = device_id
        self.local = app.ledger(program_id_for("local"))

    def outbox(self) -> Outbox:
        from domain.outbox import Outbox

        return self.app.find(OUTBOX_ID) or Outbox.start()

    def replica(self, outbox: Outbox) -> Ledger:
        pid = UUID(outbox.program_id) if outbox.program_id else program_id_for("remote:unknown")
        return self.app.ledger(pid)

    def reader(self) -> Ledger | UnitOfWork:
        outbox = self.app.find(OUTBOX_ID)  # none before the first sync: then the Outbox classes are not even loaded
        return self.overlay(outbox) if outbox is not None and outbox.linked else self.local

    def overlay(self, outbox: Outbox) -> UnitOfWork:
        """The replica with the mutations the server has not answered yet applied on top, in memory.

        Each is recorded at the time it was queued, so a pending change reads the same every time.
        """
        from service import args as argspec
        from service.handling import run
        uow = self.replica(outbox).unit_of_work()
        for item in outbox.pending():
            m = _as_mutation(item, self.device_id)
            if uow.mutation_record(m.mutation_id) is not None:
                continue
            try:
                run(uow, m, argspec.parse(m.type, m.args), queued_at(item))
            except DomainError:
                continue
        return uow

    def mutate(self, m: Mutation) -> dict[str, Any]:
        """Apply (standalone) or check and queue (linked) one mutation."""
        from service import args as argspec
        from service.handling import handle, run
        from service.mutation import Mutation

        for _ in range(8):
            outbox = self.outbox()
            if not outbox.linked:
                return handle(self.local, m)
            replica_program = self.replica(outbox).program()
            m = Mutation(m.mutation_id, m.type, m.occurred_at, self.device_id, m.args,
                         base_version=replica_program.version if replica_program else None)
            step = run(self.overlay(outbox), m, argspec.parse(m.type, m.args), datetime.now(timezone.utc))
            outbox.queue([outbox_item(m)])
            try:
                self.app.save(outbox)
            except IntegrityError:
                continue
            return {"mutation_id": m.mutation_id, "type": m.type, "status": "queued", "result": step.result}
        raise Refused("busy", "the outbox kept changing; try again")

    def unsent(self) -> list[Mutation]:
        """The changes in the outbox that the replica does not hold yet (none before the device is linked)."""
        outbox = self.outbox()
        if not outbox.linked:
            return []  # a standalone store holds every change it made
        replica = self.replica(outbox)
        items = [_as_mutation(i, self.device_id) for i in outbox.pending()]
        return [m for m in items if replica.mutation_record(m.mutation_id) is None]

    def import_rows(self, export) -> dict[str, Any]:
        """Standalone: apply an export here. Linked: queue what the replica lacks, for the server to judge.

        Either way an export of another program is refused before anything changes.
        """
        from service.exchange import check_belongs, check_fits, import_mutations, unknown_rows

        outbox = self.outbox()
        if not outbox.linked:
            return import_mutations(self.local, export)
        replica = self.replica(outbox)
        check_belongs(replica, export, [_as_mutation(i, self.device_id) for i in outbox.pending()])
        if any(r.rebased for r in export.rows):
            check_fits(replica, export)  # another program's changes: all must fit, or none is queued
        queued = {i["mutation_id"] for i in outbox.pending()}
        fresh = [outbox_item(r.mutation) for r in unknown_rows(replica, export.rows)
                 if r.mutation.mutation_id not in queued]
        if fresh:
            outbox.queue(fresh)
            self.app.save(outbox)
        return {"applied": 0, "queued": len(fresh), "duplicate": len(export.rows) - len(fresh), "refused": []}

    # ----- sync --------------------------------------------------------------------------------

    def sync(self, remote: HttpRemote) -> dict[str, Any]:
        report: dict[str, Any] = {"pushed": 0, "applied": 0, "duplicate": 0, "conflict": 0, "rejected": 0,
                                  "conflicts": [], "rejections": [], "pulled": 0, "renumbered": 0, "reused": [],
                                  "devices": []}
        outbox = self.outbox()
        if not outbox.linked:
            self._queue_standalone(outbox)
        acked = self._push(remote, report)
        self._pull(remote, report, acked)
        return report

    def pending_ids(self) -> set[str]:
        """The mutations this device made that the server has not answered yet (none before it is linked)."""
        outbox = self.outbox()
        return {i["mutation_id"] for i in outbox.pending()} if outbox.linked else set()

    def rejected(self) -> list[dict]:
        """Every mutation the server rejected, with its reason, oldest first (they are never applied)."""
        outbox = self.outbox()
        ledger = self.replica(outbox) if outbox.linked else self.local
        return [{"mutation_id": r.mutation_id, "type": r.mutation_type, "device_id": r.device_id,
                 "occurred_at": r.occurred_at.isoformat(), "recorded_at": r.timestamp.isoformat(), "args": r.args,
                 "reason": (r.result.get("error") or {}).get("message"), "error": r.result.get("error")}
                for r in ledger.mutation_records() if r.status == "rejected"]

    def _queue_standalone(self, outbox: Outbox) -> None:
        records = [r for r in self.local.mutation_records() if r.status == "applied"]
        fresh = records[outbox.standalone:]
        if fresh:
            outbox.queue([{"mutation_id": r.mutation_id, "type": r.mutation_type,
                           "occurred_at": r.occurred_at.isoformat(), "base_version": None, "args": r.args}
                          for r in fresh], standalone=len(records))
            self.app.save(outbox)

    def _push(self, remote: HttpRemote, report: dict) -> tuple[int, dict]:
        """Push every pending mutation; return the seq the server holds up to, and the statuses.

        The acknowledgement is saved by ``_pull``, with the replicated events that
        carry those mutations: until then they stay in the outbox, so reads keep
        showing them even when the sync is cut off before the pull is done. Only
        a 200 that answers a mutation ever lets it leave the outbox.
        """
        acked, statuses, renumbered = 0, {}, 0
        while True:
            outbox = self.outbox()
            batch = _batch([i for i in outbox.pending() if i["seq"] > acked])
            if not batch:
                return acked, statuses
            status, body = remote.push([_wire(i) for i in batch])
            if status == 409 and isinstance(body, dict) and "expected_seq" in body:
                expected = int(body["expected_seq"])
                if expected <= batch[0]["seq"]:
                    raise RemoteError(f"the server expects seq {expected} from this device, but its next "
                                      f"unsent mutation is {batch[0]['seq']}: the server has lost mutations", 409, body)
                renumbered += 1
                if renumbered > RENUMBER_TRIES:
                    raise RemoteError("the server kept answering that this device's seqs were used by other "
                                      "changes (another home with this token syncing at the same time?); "
                                      "nothing was lost: the changes stay queued, sync again", 409, body)
                self._renumber(outbox, acked, expected, body, report)
                continue
            remote.expect(status, body, 200)
            if int(body["last_seq"]) < batch[-1]["seq"]:
                raise RemoteError(f"the server answered last_seq {body['last_seq']} to a push up to seq "
                                  f"{batch[-1]['seq']}", status, body)
            for r in body["results"]:
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
                report[r["status"]] = report.get(r["status"], 0) + 1
                if r["status"] == "conflict":
                    report["conflicts"].append(r)
                if r["status"] == "rejected":
                    report["rejections"].append(r)
            report["pushed"] += len(batch)
            # What this batch answered, not the server's last_seq: another home with this token may have
            # taken seqs past it, and the changes queued here under those seqs were never sent.
            acked = batch[-1]["seq"]

    def _renumber(self, outbox: Outbox, acked: int, expected: int, body: dict, report: dict) -> None:
        """The server holds seqs of this batch from other mutations: queue the unanswered ones after its last.

        A 409 whose ``expected_seq`` lies past the batch's first seq means the
        server already used those seqs (a restored copy of this home, or another
        home with this token). The server lists the mutations of the batch it
        does not hold (``reused``); every mutation not answered in this sync gets
        a new seq from ``expected_seq`` on, in order: those the server holds
        after all are answered ``duplicate``, the others apply. Nothing is dropped.
        """
        unanswered = [i for i in outbox.pending() if i["seq"] > acked]
        outbox.requeue(unanswered, expected)
        try:
            self.app.save(outbox)
        except IntegrityError:
            return  # the outbox changed meanwhile (a change queued): read it again and push
        reused = body.get("reused")
        report["renumbered"] += len(unanswered)
        report["reused"] += [r.get("mutation_id") for r in reused if isinstance(r, dict)] if isinstance(reused, list) else []

    def _pull(self, remote: HttpRemote, report: dict, acked: tuple[int, dict] = (0, {})) -> None:
        while True:
            outbox = self.outbox()
            page = remote.pull(outbox.cursor)
            entries = page["entries"]
            stored = []
            program_id = outbox.program_id
            for e in entries:
                if e["kind"] == "device":  # who paired or revoked which device: told, not replicated
                    report.setdefault("devices", []).append({k: e["data"].get(k) for k in DEVICE_FIELDS})
                    continue
                s = e["data"]["stored"]
                stored.append(StoredEvent(originator_id=UUID(s["originator_id"]),
                                          originator_version=int(s["originator_version"]),
                                          topic=s["topic"], state=s["state"].encode("utf-8")))
                if s["topic"] == STARTED_TOPIC:
                    program_id = s["originator_id"]
            outbox.pulled(page["next_cursor"], program_id, len(entries))
            report["behind"] = page.get("behind") or 0
            # the replica now holds every mutation the push acknowledged, unless the server's feed is behind:
            # then they stay in the outbox (reads still show them) until a later sync pulls them
            if not page["has_more"] and not report["behind"]:
                outbox.acknowledge(*acked)
            own = [self.app.mapper.to_stored_event(ev) for ev in outbox.collect_events()]
            self.app.recorder.insert_events(stored + own)
            report["pulled"] += len(entries)
            if not page["has_more"]:
                break
        outbox = self.outbox()
        if outbox.program_id and report["pulled"]:
            try:  # so reading the replica stays a snapshot and a short tail
                self.app.take_snapshot(UUID(outbox.program_id))
            except IntegrityError:
                pass  # this version is already snapshotted


def new_mutation(mutation_type: str, args: dict, occurred_at: datetime, device_id: str) -> Mutation:
    from service.mutation import Mutation

    return Mutation(str(uuid.uuid4()), mutation_type, occurred_at, device_id, args)
