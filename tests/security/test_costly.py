"""Costly pushes within the body cap are refused early and answered briefly (issue 10, item 2).

A push of 250,000 empty objects (750 KB, under the 1 MiB cap) was validated
element by element and answered 65.8 MB of errors; now the batch cap (413)
and the element types are checked before any mutation's fields, and a
problem lists at most ``MAX_LISTED_ERRORS`` fields with ``more_errors``
counting the rest. A batch whose every mutation is rejected was redone once
per rejection (a refusal that only read the program counted as a change);
it now takes one pass, as an applied batch does. What these cost against a
valid push is measured by ``bench/abuse.py``, not here.
"""

from __future__ import annotations

import json

import pytest

from api import limits
from tests.integration.test_api_support import Client, fresh_app
from tests.security._support import Device, assert_problem

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def device(server) -> Device:
    device = Device.new_account(server, "costly")
    assert device.push_ok(device.m("init", 2, name="Costly"))[0]["status"] == "applied"
    return device


def raw_push(device: Device, document) -> tuple:
    reply = device.call("POST", "/v1/sync/push", raw=json.dumps(document, separators=(",", ":")).encode())
    return reply, len(reply.body)


@pytest.mark.parametrize("element", [{}, 1], ids=["empty-objects", "integers"])
def test_a_batch_over_the_cap_is_413_before_its_elements_are_looked_at(device, element):
    reply, size = raw_push(device, {"mutations": [element] * 250_000})
    problem = assert_problem(reply, 413, field="mutations")
    assert problem["max_items"] == limits.MAX_BATCH and "250000" in problem["detail"]
    assert size < 1000, size
    assert device.push_ok(device.m("break", kind="walk"))[0]["status"] == "applied"  # nothing was stored


def test_elements_that_are_not_objects_are_named_without_validating_the_rest(device):
    batch = [device.m("break", kind="walk"), 1, "x", [], None] + [7] * 495
    device.seq -= 1
    reply, size = raw_push(device, {"mutations": batch})
    problem = assert_problem(reply, 400, field="mutations.1")
    assert problem["errors"]["mutations.1"] == ["must be an object (a mutation)"]
    assert "mutations.0" not in problem["errors"] and "mutations.0.seq" not in problem["errors"]
    assert len(problem["errors"]) == limits.MAX_LISTED_ERRORS and problem["more_errors"] == 499 - 50
    assert size < 10_000, size


def test_an_error_body_lists_a_few_dozen_problems_and_counts_the_rest(device):
    reply, size = raw_push(device, {"mutations": [{}] * limits.MAX_BATCH})
    problem = assert_problem(reply, 400, field="mutations.0.seq")
    assert len(problem["errors"]) == limits.MAX_LISTED_ERRORS
    assert problem["more_errors"] == 4 * limits.MAX_BATCH - limits.MAX_LISTED_ERRORS  # 4 required fields each
    assert size < 10_000, size


def test_text_problems_are_listed_up_to_the_cap_and_counted(device):
    bad = device.m("checkin", pain=1, note=["\u0000"] * 100_000)
    reply, size = raw_push(device, {"mutations": [bad]})
    problem = assert_problem(reply, 400, field="mutations.0.args.note.0")
    assert len(problem["errors"]) == limits.MAX_LISTED_ERRORS
    assert problem["more_errors"] == 100_000 - limits.MAX_LISTED_ERRORS
    assert "NUL" in problem["detail"] and size < 10_000, size
    device.seq -= 1
    assert device.push_ok(device.m("break", kind="walk"))[0]["status"] == "applied"


def test_a_batch_of_rejected_mutations_is_applied_in_one_pass(store_url):
    """Each pass of ``service.sync.push`` looks up the batch's mutation records once (``existing``)."""
    flask_app = fresh_app(store_url)
    try:
        store = flask_app.extensions["backstory"].app
        client = Client.new_account(flask_app, "rejected")
        assert client.push(client.m("init", name="R", days_ago=3),
                           client.m("add", name="Bridge", position="1:supine", sets=3, reps=10, days_ago=2)
                           ).status_code == 200
        passes = []
        real = store.existing
        store.existing = lambda ids: (passes.append(len(ids)), real(ids))[1]
        batch = ([client.m("log", exercise="No such one", pain_before=3, days_ago=1) for _ in range(100)]
                 + [client.m("log", exercise="Bridge", pain_before=44, days_ago=1) for _ in range(100)]
                 + [client.m("log", exercise="Bridge", pain_before=3, days_ago=1)]
                 + [client.m("progress", exercise="Nope", sets=4, reason="x") for _ in range(99)])
        reply = client.push(*batch)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        statuses = [r["status"] for r in reply.json["results"]]
        assert statuses == ["rejected"] * 200 + ["applied"] + ["rejected"] * 99
        assert passes == [300], passes  # one pass: a refusal that changed nothing does not redo the batch
        again = client.push(*batch)  # and the outcomes were stored once each
        assert [r["status"] for r in again.json["results"]] == ["duplicate"] * 300
    finally:
        flask_app.extensions["backstory"].close()
