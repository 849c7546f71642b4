"""An optional allow-list of client networks, honest about proxies.

Bandwidth publishes no source ranges for callbacks (you may get static ones from its
support): credentials remain the authentication, and an allow-list is a second fence.
Behind reverse proxies the peer address is the proxy's, so the client address is taken
from ``X-Forwarded-For`` only as far as ``trusted_proxies`` says: with one proxy in front,
the last address it appended; never an address the client could have written itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from bwhooks.http import Headers

__all__ = ["AllowList"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AllowList:
    """Client networks allowed to post callbacks, e.g. ``AllowList(["203.0.113.0/24"])``.

    ``trusted_proxies`` is how many reverse proxies of yours stand in front of the app
    (0: the peer address is the client's).
    """

    def __init__(self, networks: Iterable[str], *, trusted_proxies: int = 0) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in networks
        )
        if not self.networks:
            raise ValueError("an AllowList needs at least one network")
        if trusted_proxies < 0:
            raise ValueError("trusted_proxies must be 0 or more")
        self.trusted_proxies = trusted_proxies

    def client_address(self, peer: tuple[str, int] | None, headers: Headers) -> str | None:
        """The client's address as far as the trusted proxies vouch for it, or ``None``."""
        if self.trusted_proxies == 0:
            return peer[0] if peer else None
        hops = [
            hop.strip() for value in headers.getlist("X-Forwarded-For") for hop in value.split(",")
        ]
        if len(hops) < self.trusted_proxies:
            return None  # fewer hops than proxies: the header is not what it claims
        return hops[-self.trusted_proxies]

    def allows(self, peer: tuple[str, int] | None, headers: Headers) -> bool:
        """Whether the request's client address is in one of the networks."""
        address = self.client_address(peer, headers)
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        return any(ip in network for network in self.networks)
