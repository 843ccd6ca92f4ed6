"""Behind a reverse proxy, and what ``/readyz`` tells whom, on a real server (``backstory serve --proxy``).

Failed authentications are limited per client address. Behind a proxy every
connection comes from the proxy: unless the proxy's ``X-Forwarded-For`` is
believed, one client's bad tokens refuse everyone's attempts (issue 10, item
10). A server started with ``--proxy 127.0.0.1`` (the test's connections come
from there, as from a proxy on the same host) counts each forwarded client on
its own; the client cannot escape its count by adding addresses of its own to
the header. (Without ``--proxy`` the header changes nothing:
``test_ratelimit``.) ``/readyz`` says ready or not to anyone, and the
projections' lag only to the operator's token; a wrong token counts as a
failed authentication.
"""

from __future__ import annotations

import pytest

from tests.security._support import OPERATOR_TOKEN, Device, Server, assert_problem, call
from tests.security.conftest import fresh_store

pytestmark = pytest.mark.timeout(300)
RATE, BURST = 0.2, 4
CLIENT_A, CLIENT_B, PROXY = "203.0.113.7", "203.0.113.8", "127.0.0.1"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proxied")
    url, _ = fresh_store("sqlite", tmp)  # the limit is the same code on every backend
    server = Server(url, tmp, env={"BACKSTORY_RATE_LIMIT": str(RATE), "BACKSTORY_RATE_BURST": str(BURST)},
                    name="proxied", args=("--proxy", PROXY))
    yield server
    server.stop()


def forged(device: Device) -> str:
    return f"Bearer bs1_{device.device_id.replace('-', '')}_{'F' * 43}"


def attempts_until_limited(server: Server, authorization: str, forwarded_for: str) -> list[int]:
    statuses = []
    while not statuses or statuses[-1] != 429:
        assert len(statuses) < 50, statuses
        statuses.append(call(server.url, "GET", "/v1/devices", authorization=authorization,
                             headers={"X-Forwarded-For": forwarded_for}).status)
    return statuses


def test_failed_logins_are_limited_per_forwarded_client_not_per_proxy(proxied):
    valid = Device.new_account(proxied, "behind the proxy")
    statuses = attempts_until_limited(proxied, forged(valid), CLIENT_A)
    assert set(statuses[:-1]) == {401} and len(statuses) >= BURST, statuses
    limited = call(proxied.url, "GET", "/v1/devices", authorization=forged(valid),
                   headers={"X-Forwarded-For": f"198.51.100.{len(statuses)}, {CLIENT_A}"})
    assert_problem(limited, 429)  # addresses the client put in front of its own change nothing
    assert limited.headers["retry-after"].isdigit()
    # Another client behind the same proxy is not refused for A's attempts...
    other = call(proxied.url, "GET", "/v1/devices", authorization=forged(valid), headers={"X-Forwarded-For": CLIENT_B})
    assert_problem(other, 401)
    # ...nor is the proxy's own address, nor a valid token from A's address.
    assert_problem(call(proxied.url, "GET", "/v1/devices", authorization=forged(valid)), 401)
    reply = call(proxied.url, "GET", "/v1/devices", token=valid.token, headers={"X-Forwarded-For": CLIENT_A})
    assert reply.status == 200, reply


def test_readyz_says_ready_to_anyone_and_the_lag_only_to_the_operator(proxied):
    public = call(proxied.url, "GET", "/readyz")
    assert public.status == 200 and public.json() == {"status": "ready"}
    operator = call(proxied.url, "GET", "/readyz", token=OPERATOR_TOKEN)
    assert operator.status == 200 and operator.json()["database"] == "ok"
    assert {"lag", "projections"} <= set(operator.json())
    client = "203.0.113.99"
    wrong = []
    while not wrong or wrong[-1].status != 429:
        assert len(wrong) < 50, wrong[-1]
        wrong.append(call(proxied.url, "GET", "/readyz", token=OPERATOR_TOKEN[:-1] + "x",
                          headers={"X-Forwarded-For": client}))
    assert all(r.status == 200 and r.json() == {"status": "ready"} for r in wrong[:-1])  # the public answer
    assert len(wrong) > BURST - 1
    assert_problem(wrong[-1], 429)
    assert call(proxied.url, "GET", "/readyz", headers={"X-Forwarded-For": client}).json() == {"status": "ready"}
