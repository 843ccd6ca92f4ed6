"""The client's address behind reverse proxies (``api.forwarded``): X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import pytest

from api.forwarded import client_address, parse_networks

PROXIES = parse_networks("10.0.0.5, 192.168.0.0/16, ::1")


@pytest.mark.parametrize("remote, forwarded, expected", [
    ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not from a proxy: the header is the client's own word
    ("10.0.0.5", None, "10.0.0.5"),  # from the proxy without the header: the proxy itself
    ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
    ("10.0.0.5", "1.2.3.4, 198.51.100.1", "198.51.100.1"),  # the left entries are what the client claimed
    ("10.0.0.5", "198.51.100.1, 192.168.4.4", "198.51.100.1"),  # a second proxy appended its client
    ("::1", "2001:db8::7", "2001:db8::7"),
    ("10.0.0.5", "198.51.100.1:5123", "198.51.100.1"),  # a port is dropped
    ("10.0.0.5", "[2001:db8::7]:443", "2001:db8::7"),
    ("10.0.0.5", "::ffff:198.51.100.1", "198.51.100.1"),  # an IPv4-mapped address is the IPv4 one
    ("10.0.0.5", "192.168.1.1, 10.0.0.5", "10.0.0.5"),  # only proxies: the connection's address
    ("10.0.0.5", "unknown", "10.0.0.5"),  # not an address: counted against the proxy, never a free new key
    ("10.0.0.6", "198.51.100.1", "10.0.0.6"),  # a neighbour of the proxy is not the proxy
])
def test_the_client_is_the_right_most_address_a_trusted_proxy_forwarded(remote, forwarded, expected):
    assert client_address(remote, forwarded, PROXIES) == expected


def test_without_proxies_the_header_is_ignored():
    assert client_address("127.0.0.1", "198.51.100.1", ()) == "127.0.0.1"
    assert client_address(None, "198.51.100.1", PROXIES) == "-"


@pytest.mark.parametrize("text", ["10.0.0.300", "proxy.example", "10.0.0.0/33", "10.0.0.1,,nope"])
def test_a_bad_proxy_entry_is_refused_naming_it(text):
    with pytest.raises(ValueError) as error:
        parse_networks(text)
    assert "is not an IP address or network" in str(error.value)
    assert repr(text.split(",")[-1].strip()) in str(error.value)
