"""The client's address behind reverse proxies: ``X-Forwarded-For``, believed only from the configured proxies.

Failed authentications are limited per client address. Behind a reverse
proxy every connection comes from the proxy, so without this every client
would share one limit and one client's bad tokens would refuse everyone.
``TRUSTED_PROXIES`` (``backstory serve --proxy``, ``BACKSTORY_TRUSTED_PROXIES``)
lists the proxies' addresses or networks. A request from one of them is
attributed to the right-most ``X-Forwarded-For`` entry that is not itself a
trusted proxy (each proxy appends the address it saw, so the entries left of
it are whatever the client claimed). A request from anywhere else is the
connection's own address, whatever headers it carries.

``charge_failed_authentication`` is that per-address limit (a bad device
token, a wrong operator token).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from flask import current_app, request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str | Iterable[str] | None) -> tuple[Network, ...]:
    """``"10.0.0.5, 192.168.0.0/16, ::1"`` as networks; ValueError naming the entry that is not one."""
    if not text:
        return ()
    entries = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for entry in (e.strip() if isinstance(e, str) else e for e in entries):
        if entry == "":
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"proxy address {entry!r} is not an IP address or network "
                             "(for example 127.0.0.1, 10.0.0.0/8, ::1)") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address


def _trusted(address, proxies: tuple[Network, ...]) -> bool:
    return address is not None and any(address.version == n.version and address in n for n in proxies)


def client_address(remote: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The address a request counts against: the connection's, or the one a trusted proxy forwarded."""
    remote = remote or "-"
    if not proxies or not forwarded_for or not _trusted(_address(remote), proxies):
        return remote
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            return remote  # a proxy forwarded something that is not an address: count it against the proxy
        if not _trusted(address, proxies):
            return str(address)
    return remote


def request_address() -> str:
    """The current request's client address (see ``client_address``)."""
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                          current_app.config["TRUSTED_PROXIES"])


def charge_failed_authentication() -> None:
    """Count a failed authentication against the client's address; 429 once it made too many."""
    from api.context import backend
    from api.errors import ApiProblem
    from api.ratelimit import retry_after

    wait = backend().limiter.take(f"addr:{request_address()}")
    if wait:
        raise ApiProblem(429, "rate-limited", "too many failed authentications from this address; slow down",
                         headers={"Retry-After": retry_after(wait)})
