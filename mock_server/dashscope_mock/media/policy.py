"""Which addresses the mock may download inputs from: the fetch policy against SSRF (issue 10, item 1).

Input URLs come from clients, so a download is a request the mock makes on a client's behalf; without a policy a task
could make the mock read its own loopback services, the private network around it, or the cloud's metadata service
(credentials). :class:`FetchPolicy` judges *resolved addresses*, never URL text: ``2130706433``, ``0x7f.1``,
``017700000001`` and ``127.1`` are all ``127.0.0.1`` once :func:`resolve` (``getaddrinfo``, the OS's own reading) has
turned them into the addresses a connect would use, and an IPv4-mapped IPv6 address (``::ffff:127.0.0.1``, also the
NAT64 ``64:ff9b::/96`` form) is judged as its IPv4 address.

Three tiers, first match in :data:`IPV4_CATEGORIES` / :data:`IPV6_CATEGORIES`:

* **never** (:data:`NEVER`): cloud metadata (``169.254.169.254``, ``169.254.170.2``, ``fd00:ec2::254``, Alibaba
  Cloud's ``100.100.100.200``, Oracle's ``192.0.0.192``), unspecified (``0.0.0.0/8``, ``::``: on Linux connecting to
  ``0.0.0.0`` reaches the local host), multicast and broadcast. Not even an ``allowed`` CIDR opens them: the metadata
  service hands out the host's credentials, and the others are no server's address.
* **explicit only** (:data:`EXPLICIT_ONLY`): link-local (``169.254.0.0/16``, ``fe80::/10``) and reserved ranges
  (``240.0.0.0/4``, IPv6 outside ``2000::/3``): refused even with ``allow_private``, opened only by a CIDR in
  ``allowed`` (mind that a broad one, ``0.0.0.0/0``, opens them too; metadata stays refused).
* **private** (:data:`PRIVATE`): loopback, RFC 1918, unique-local ``fc00::/7``, CGNAT ``100.64.0.0/10`` and the
  documentation/benchmarking ranges: allowed with ``allow_private`` (the in-process default, and a mock bound to
  loopback only) or inside an ``allowed`` CIDR.

Everything else is public and allowed. A host whose answer holds *any* refused address is refused as a whole, so a
name cannot smuggle a private address in beside a public one. Typical use::

    policy = FetchPolicy.from_config(config.fetch_private, config.allow_fetch)
    fetcher = Fetcher(policy=policy)
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "EXPLICIT_ONLY",
    "IPV4_CATEGORIES",
    "IPV6_CATEGORIES",
    "NEVER",
    "POLICY_DETAIL_PREFIX",
    "PRIVATE",
    "FetchPolicy",
    "IPAddress",
    "IPNetwork",
    "Refusal",
    "category",
    "resolve",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

POLICY_DETAIL_PREFIX: Final = "fetch policy:"
"""Every refusal's ``detail`` starts with this, so a caller can tell (and journal) a refusal from a dead host."""

PUBLIC: Final = "public"
NEVER: Final = frozenset({"cloud metadata", "unspecified", "multicast", "broadcast"})
EXPLICIT_ONLY: Final = frozenset({"link-local", "reserved"})
PRIVATE: Final = frozenset({"loopback", "private", "shared (CGNAT)", "special-purpose"})


def _table(*rows: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), name) for cidr, name in rows)


# First match wins: the metadata addresses sit inside link-local, private and CGNAT ranges, so they come first.
IPV4_CATEGORIES: Final = _table(
    ("169.254.169.254/32", "cloud metadata"),  # AWS, Azure, GCP, Oracle, DigitalOcean, …
    ("169.254.170.2/32", "cloud metadata"),  # AWS ECS task credentials
    ("100.100.100.200/32", "cloud metadata"),  # Alibaba Cloud ECS
    ("192.0.0.192/32", "cloud metadata"),  # Oracle Cloud (legacy)
    ("0.0.0.0/8", "unspecified"),
    ("255.255.255.255/32", "broadcast"),
    ("224.0.0.0/4", "multicast"),
    ("169.254.0.0/16", "link-local"),
    ("240.0.0.0/4", "reserved"),
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "shared (CGNAT)"),
    ("192.0.0.0/24", "special-purpose"),  # IETF protocol assignments
    ("192.0.2.0/24", "special-purpose"),  # documentation (TEST-NET-1..3)
    ("198.51.100.0/24", "special-purpose"),
    ("203.0.113.0/24", "special-purpose"),
    ("198.18.0.0/15", "special-purpose"),  # benchmarking
)
IPV6_CATEGORIES: Final = _table(
    ("fd00:ec2::254/128", "cloud metadata"),  # AWS IMDS over IPv6
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("ff00::/8", "multicast"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "private"),  # deprecated site-local
    ("fc00::/7", "private"),  # unique-local
    ("2001:db8::/32", "special-purpose"),  # documentation
)
_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a v6 socket would really reach: ``::ffff:a.b.c.d`` (mapped) or ``64:ff9b::a.b.c.d`` (NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _unmap(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        return _embedded_ipv4(address) or address
    return address


def category(address: IPAddress) -> str:
    """What ``address`` is: ``public`` or one of the names in :data:`NEVER`, :data:`EXPLICIT_ONLY`, :data:`PRIVATE`."""
    address = _unmap(address)
    table = IPV4_CATEGORIES if isinstance(address, ipaddress.IPv4Address) else IPV6_CATEGORIES
    for network, name in table:
        if address in network:
            return name
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return "reserved"  # unassigned, discard-only, IPv4-compatible (::a.b.c.d), local-use NAT64 …
    return PUBLIC


def _normalized(network: IPNetwork) -> IPNetwork:
    """``::ffff:a.b.c.d/n`` (n ≥ 96) as the IPv4 network it covers, since addresses are judged unmapped."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


@dataclass(frozen=True)
class Refusal:
    """Why the policy refused ``host``: its ``address`` (as getaddrinfo gave it) is of ``category``."""

    host: str
    address: IPAddress
    category: str

    @property
    def detail(self) -> str:
        named = "" if self.host == str(self.address) else f" (host {self.host!r})"
        plain = _unmap(self.address)
        shown = f"{self.address} = {plain}" if plain != self.address else str(self.address)  # as it was judged
        return f"{POLICY_DETAIL_PREFIX} address {shown} ({self.category}) refused by the fetch policy{named}"


@dataclass(frozen=True)
class FetchPolicy:
    """Which resolved addresses inputs may be downloaded from; see the module's docstring for the tiers.

    ``allow_private``: loopback and private ranges are allowed (in process, and a mock bound to loopback only).
    ``allowed``: networks always allowed (``--allow-fetch``), except the :data:`NEVER` tier.
    """

    allow_private: bool
    allowed: tuple[IPNetwork, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed", tuple(_normalized(network) for network in self.allowed))

    @classmethod
    def from_config(cls, allow_private: bool, cidrs: Sequence[str]) -> FetchPolicy:
        """From the config's ``fetch_private`` and ``allow_fetch``. A CIDR with host bits (``10.1.2.3/8``) means its
        network and a bare address its /32 or /128; anything unparsable raises :class:`ValueError` naming it."""
        networks: list[IPNetwork] = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError as error:
                raise ValueError(f"--allow-fetch: {cidr!r} is not an IP network ({error})") from error
        return cls(allow_private=bool(allow_private), allowed=tuple(networks))

    def refused(self, address: IPAddress) -> str | None:
        """``None`` when ``address`` may be connected to, else its category (the reason)."""
        name = category(address)
        if name == PUBLIC:
            return None
        if name in NEVER:
            return name
        if name in PRIVATE and self.allow_private:
            return None
        plain = _unmap(address)
        if any(plain.version == network.version and plain in network for network in self.allowed):
            return None
        return name

    def check(self, host: str, addresses: Sequence[IPAddress]) -> Refusal | None:
        """The first refused address of ``host``'s answer, or ``None`` when every one is allowed."""
        for address in addresses:
            name = self.refused(address)
            if name is not None:
                return Refusal(host, address, name)
        return None


async def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address ``getaddrinfo`` gives for ``host``, in its order, without duplicates (in the loop's thread pool;
    the caller bounds the wait). The one lookup of a download hop: the fetcher connects to these, never to the name.
    Raises :class:`OSError` when there is none."""
    answer = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: dict[IPAddress, None] = {}
    for family, _type, _proto, _name, sockaddr in answer:
        if family in (socket.AF_INET, socket.AF_INET6):
            # An IPv6 zone (``fe80::1%eth0``) is dropped: the category does not depend on it.
            addresses[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    if not addresses:
        raise OSError(f"no IP address for {host!r}")
    return tuple(addresses)
