"""Read lists come in capped pages on a real server (issue 10, item 3).

After 15,000 logs with 1.2 KB notes, ``GET /v1/sessions`` answered 26.6 MB
for about a CPU-second, however often it was asked. Now sessions, history
(all and per exercise) and conflicts answer at most ``READ_LIMIT_MAX`` items
a page (``READ_LIMIT_DEFAULT`` by default), oldest first, with
``next_cursor`` and ``has_more`` as pull has; following the cursors gives
every item once, and ``days`` each day once. A cursor works only on its own
list and account. A recap covers at most ``MAX_RECAP_DAYS``. The OpenAPI
document states the page parameters and fields. What a page costs against a
push is measured by ``bench/abuse.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api import limits
from tests.security._support import Device, assert_problem

pytestmark = pytest.mark.timeout(300)
NOTE = ("a long note about the session " * 40)[:1200]


@pytest.fixture(scope="module")
def busy(server) -> Device:
    """An account with 260 sessions over 20 days (1.2 KB notes), check-ins between them, and 3 decisions."""
    device = Device.new_account(server, "busy reader")
    assert device.push_ok(device.m("init", 30, name="Busy", timezone="Europe/Paris"),
                          device.m("add", 29, name="Bridge", position="1:supine", sets=3, reps=10))
    logs = [device.m("log", 25 - i * 0.08, exercise="Bridge", pain_before=i % 10, note=NOTE) for i in range(260)]
    checkins = [device.m("checkin", 25.5 - d, pain=d % 8) for d in range(0, 24, 3)]
    results = device.push_ok(*logs, *checkins)
    assert {r["status"] for r in results} == {"applied"}
    assert device.push_ok(device.m("progress", 1, exercise="Bridge", sets=4, reason="stronger"),
                          device.m("regress", 0.5, exercise="Bridge", sets=3, reason="flare"))
    return device


def pages(device: Device, path: str, limit: int, **query) -> list[dict]:
    out, after = [], ""
    while True:
        reply = device.get(path, limit=limit, **({"after": after} if after else {}), **query)
        assert reply.status == 200, reply
        page = reply.json()
        out.append(page)
        if not page["has_more"]:
            return out
        after = page["next_cursor"]
        assert after and len(out) < 100


def test_sessions_come_in_capped_pages_and_the_cursors_give_each_session_and_day_once(busy):
    first = busy.get("/v1/sessions").json()
    assert len(first["sessions"]) == limits.READ_LIMIT_DEFAULT and first["has_more"] is True
    whole = busy.get("/v1/sessions", limit=limits.READ_LIMIT_MAX).json()
    assert len(whole["sessions"]) == 260 and whole["has_more"] is False
    assert_problem(busy.get("/v1/sessions", limit=limits.READ_LIMIT_MAX + 1), 400, field="limit")
    assert_problem(busy.get("/v1/sessions", limit=0), 400, field="limit")
    paged = pages(busy, "/v1/sessions", 37)
    assert all(len(p["sessions"]) == 37 for p in paged[:-1]) and len(paged) == 8
    assert [s for p in paged for s in p["sessions"]] == whole["sessions"]
    days = [d for p in paged for d in p["days"]]
    assert days == whole["days"] and len({d["day"] for d in days}) == len(days)
    assert sum(d["checkins"] for d in days) == 8  # the days without sessions too
    since = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    ranged = pages(busy, "/v1/sessions", 50, since=since)
    assert [s for p in ranged for s in p["sessions"]] == busy.get(
        "/v1/sessions", since=since, limit=limits.READ_LIMIT_MAX).json()["sessions"]


def test_history_and_conflicts_are_paged_too(busy):
    whole = busy.get("/v1/history").json()
    assert len(whole["entries"]) >= 3 and whole["has_more"] is False and whole["next_cursor"]
    one_by_one = pages(busy, "/v1/history", 1)
    assert [p["entries"][0] for p in one_by_one] == whole["entries"]
    exercise = pages(busy, "/v1/exercises/Bridge/history", 2)
    assert [e["type"] for p in exercise for e in p["entries"]] == ["add", "progress", "regress"]
    conflicts = busy.get("/v1/conflicts", limit=1).json()
    assert conflicts == {"conflicts": [], "next_cursor": "", "has_more": False}


def test_devices_are_paged_and_the_clis_remote_follows_the_pages(server):
    from service.remote import HttpRemote

    phone = Device.new_account(server, "many devices")
    for i in range(limits.READ_LIMIT_DEFAULT + 1):  # the shared server's pairing caps are raised
        phone.pair(f"tablet {i}")
    first = phone.get("/v1/devices").json()
    assert len(first["devices"]) == limits.READ_LIMIT_DEFAULT and first["has_more"] is True
    whole = phone.get("/v1/devices", limit=limits.READ_LIMIT_MAX).json()
    assert len(whole["devices"]) == limits.READ_LIMIT_DEFAULT + 2 and whole["has_more"] is False
    paged = pages(phone, "/v1/devices", 40)
    assert [len(p["devices"]) for p in paged] == [40, 40, 22]
    assert [d for p in paged for d in p["devices"]] == whole["devices"]
    assert_problem(phone.get("/v1/devices", after=paged[0]["next_cursor"][:-4]), 400, field="after")
    listed = HttpRemote(server.url, phone.token).devices()  # what `backstory device list` shows
    assert listed == {"devices": whole["devices"]}


def test_a_cursor_works_only_on_its_own_list_and_account(server, busy):
    cursor = busy.get("/v1/sessions", limit=5).json()["next_cursor"]
    for path in ("/v1/history", "/v1/conflicts", "/v1/sync/pull"):
        assert_problem(busy.get(path, after=cursor), 400, field="after")
    stranger = Device.new_account(server, "stranger reader")
    stranger.push_ok(stranger.m("init", 1, name="Stranger"))
    problem = assert_problem(stranger.get("/v1/sessions", after=cursor), 400, field="after")
    assert "another account" in problem["detail"]
    pull_cursor = busy.get("/v1/sync/pull", limit=1).json()["next_cursor"]
    assert_problem(busy.get("/v1/sessions", after=pull_cursor), 400, field="after")
    assert_problem(busy.get("/v1/sessions", after="not-a-cursor"), 400, field="after")


def test_a_recap_covers_at_most_its_cap_in_days(busy):
    today = datetime.now(UTC).date()
    ok = busy.get("/v1/recap", since=(today - timedelta(days=limits.MAX_RECAP_DAYS - 1)).isoformat())
    assert ok.status == 200 and ok.json()["sessions"] == 260, ok
    problem = assert_problem(busy.get("/v1/recap", since="1901-01-01", until="9999-12-30"), 400, field="since")
    assert str(limits.MAX_RECAP_DAYS) in problem["detail"]


def test_the_openapi_document_states_the_pages(spec):
    for path in ("/v1/sessions", "/v1/history", "/v1/exercises/{exercise}/history", "/v1/conflicts"):
        operation = spec["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert params["limit"]["schema"]["maximum"] == limits.READ_LIMIT_MAX, path
        assert "after" in params and "Costs" in params["limit"]["description"], path
        assert {"429", "400"} <= set(operation["responses"]), path
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        assert {"next_cursor", "has_more"} <= set(spec["components"]["schemas"][ref]["properties"]), path
