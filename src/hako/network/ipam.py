"""Address management: subnets for new networks and addresses for endpoints.

Subnets come from pools (Docker's defaults, or daemon.json's `default-address-pools`) and skip
every prefix already routed on the host or used by another network, as libnetwork does. Addresses
are handed out by a rolling cursor (kept in the network record), so an address freed by one
container is not given to the next one at once: a peer still holding the old address in a cache
does not reach the wrong container.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

from ..errdefs import Conflict, Forbidden, InvalidArgument

# Docker's default-address-pools: 172.17-31.0.0/16, then 192.168.0.0/16 cut into /20s.
DEFAULT_POOLS = [{"base": f"172.{n}.0.0/16", "size": 16} for n in range(17, 32)] + [{"base": "192.168.0.0/16", "size": 20}]


def host_routes() -> list[ipaddress.IPv4Network]:
    """The IPv4 prefixes the host routes on links (/proc/net/route), default route excluded."""
    routes = []
    try:
        with open("/proc/net/route") as f:
            next(f)
            for line in f:
                fields = line.split()
                dest, mask = (socket.inet_ntoa(struct.pack("<I", int(x, 16))) for x in (fields[1], fields[7]))
                if mask == "0.0.0.0":
                    continue
                routes.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    except OSError:
        pass
    return routes


def parse_subnet(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        if "/" not in text:
            raise ValueError(text)
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid CIDR address: {text}") from None
    if ipaddress.ip_interface(text).ip != net.network_address:
        # As Docker 25+: host bits set in a subnet are refused.
        raise InvalidArgument(f"invalid subnet {text} : it should be {net}")
    return net


def check_free(subnet, used: list) -> None:
    for other in used:
        if subnet.version == other.version and subnet.overlaps(other):
            raise Forbidden("invalid pool request: Pool overlaps with other one on this address space")


def choose_subnet(pools: list[dict], used: list) -> ipaddress.IPv4Network:
    for pool in pools or DEFAULT_POOLS:
        base = ipaddress.ip_network(pool["base"], strict=False)
        size = int(pool.get("size") or base.prefixlen)
        for candidate in base.subnets(new_prefix=size) if size > base.prefixlen else [base]:
            if not any(candidate.overlaps(u) for u in used if u.version == candidate.version):
                return candidate
    raise Forbidden("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")


def check_gateway(subnet, gateway: str) -> str:
    try:
        address = ipaddress.ip_address(gateway)
    except ValueError:
        raise InvalidArgument(f"invalid gateway address: {gateway}") from None
    if address not in subnet:
        raise InvalidArgument(f"no matching subnet for gateway {gateway}")
    return str(address)


def check_ip_range(subnet, ip_range: str) -> str:
    rng = parse_subnet(ip_range)
    if not rng.subnet_of(subnet):
        raise InvalidArgument(f"no matching subnet for range {ip_range}")
    return str(rng)


def check_static(subnet_text: str, address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InvalidArgument(f"invalid IPv4 address: {address}") from None
    if ip not in ipaddress.ip_network(subnet_text):
        raise InvalidArgument(f"Invalid address {address}: It does not belong to any of this network's subnets")
    return str(ip)


def allocate(subnet_text: str, gateway: str, ip_range: str, last: str, taken: set[str],
             wanted: str = "") -> str:
    """An address of ``subnet_text`` (within ``ip_range`` when set) that is not ``taken``; the
    next one after ``last``, wrapping around, unless ``wanted`` names one."""
    subnet = ipaddress.ip_network(subnet_text)
    if wanted:
        if wanted in taken or wanted == gateway:
            raise Conflict("Address already in use")
        return wanted
    pool = ipaddress.ip_network(ip_range) if ip_range else subnet
    first, end = int(pool.network_address), int(pool.broadcast_address)
    lowest, highest = int(subnet.network_address) + 1, int(subnet.broadcast_address) - 1
    first, end = max(first, lowest), min(end, highest)
    count = end - first + 1
    start = int(ipaddress.ip_address(last)) + 1 if last else first
    for i in range(count):
        n = first + (start - first + i) % count
        candidate = str(ipaddress.ip_address(n))
        if candidate not in taken and candidate != gateway:
            return candidate
    raise Conflict(f"no available IPv4 addresses on this network's address pools: ({subnet_text})")
