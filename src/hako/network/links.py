"""Bridges and veth pairs through netlink (pyroute2, imported lazily: it takes 150 ms).

Functions here block and may change the calling thread's network namespace: call them through
sandbox.in_thread. pyroute2's own netns helpers fork, so they are not used; a netlink socket
opened while the thread is inside a namespace keeps talking to that namespace.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass

from ..linux import syscalls
from . import sandbox

DNS_ADDRESS = "127.0.0.11"


def iproute():
    from pyroute2 import IPRoute

    return IPRoute()


def mac_for(ip: str) -> str:
    """Docker's MAC for an IPv4 address: 02:42 then the address's four bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.ip_address(ip).packed)


@dataclass
class Link:
    """One endpoint to plug: the host side ``veth`` on ``bridge``, ``ifname`` inside."""
    veth: str
    ifname: str
    bridge: str
    ip: str
    prefixlen: int
    mac: str
    gateway: str = ""          # the default route goes there (the first non-internal network)


def ensure_bridge(name: str, gateway: str, prefixlen: int) -> None:
    with iproute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            ipr.link("add", ifname=name, kind="bridge")
            found = ipr.link_lookup(ifname=name)
        index = found[0]
        have = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index, family=socket.AF_INET)}
        if gateway and gateway not in have:
            ipr.addr("add", index=index, address=gateway, prefixlen=prefixlen)
        ipr.link("set", index=index, state="up")


def delete_link(name: str) -> None:
    with iproute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            try:
                ipr.link("del", index=found[0])
            except Exception:  # noqa: BLE001 - gone meanwhile (its peer's namespace died)
                pass


def bridge_ports(bridge: str) -> list[str]:
    with iproute() as ipr:
        found = ipr.link_lookup(ifname=bridge)
        if not found:
            return []
        return [link.get_attr("IFLA_IFNAME") for link in ipr.get_links() if link.get_attr("IFLA_MASTER") == found[0]]


def setup(netns_path: str, new: bool, links: list[Link], dns: bool) -> list[socket.socket]:
    """Make (``new``) or join the namespace at ``netns_path``, plug ``links`` into it, and when
    ``dns`` open the embedded DNS server's sockets inside it. Runs in a throwaway thread."""
    host_fd = os.open(sandbox.HOST_NETNS, os.O_RDONLY | os.O_CLOEXEC)
    sockets: list[socket.socket] = []
    try:
        if new:
            sandbox.create_here(netns_path)
        else:
            sandbox.enter(netns_path)
        inside = iproute()
        try:
            if dns:
                sockets = dns_sockets()
            syscalls.setns(host_fd, syscalls.CLONE_NEWNET)
            with iproute() as host:
                for link in links:
                    _plug(host, inside, netns_path, link)
        finally:
            inside.close()
    except BaseException:
        for s in sockets:
            s.close()
        raise
    finally:
        os.close(host_fd)
    return sockets


def _plug(host, inside, netns_path: str, link: Link) -> None:
    ns_fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        host.link("add", ifname=link.veth, kind="veth", peer={"ifname": link.ifname, "net_ns_fd": ns_fd})
    finally:
        os.close(ns_fd)
    try:
        bridge = host.link_lookup(ifname=link.bridge)[0]
        index = host.link_lookup(ifname=link.veth)[0]
        host.link("set", index=index, master=bridge, state="up")
        peer = inside.link_lookup(ifname=link.ifname)[0]
        inside.link("set", index=peer, address=link.mac)
        inside.addr("add", index=peer, address=link.ip, prefixlen=link.prefixlen)
        inside.link("set", index=peer, state="up")
        if link.gateway:
            inside.route("add", dst="0.0.0.0/0", gateway=link.gateway)
    except BaseException:
        delete_link(link.veth)
        raise


def dns_sockets() -> list[socket.socket]:
    """UDP and TCP sockets on 127.0.0.11:53 in the calling thread's namespace."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        for s in (udp, tcp):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setblocking(False)
        # 127.0.0.11 is on lo already: the whole of 127.0.0.0/8 is local (Docker uses the same trick)
        udp.bind((DNS_ADDRESS, 53))
        tcp.bind((DNS_ADDRESS, 53))
        tcp.listen(64)
    except BaseException:
        udp.close()
        tcp.close()
        raise
    return [udp, tcp]


def unplug(netns_path: str, veth: str, ifname: str) -> None:
    """Remove one endpoint's veth pair (a disconnect while the container runs)."""
    delete_link(veth)
