"""The embedded DNS server: 127.0.0.11 inside each container on a user-defined network.

As Docker's: a container's name, its network aliases and its short id resolve to its address on
the networks the asking container shares with it; any other name is forwarded to the host's
resolvers (from hakod's own namespace, so a resolver on the host's loopback works too). The
sockets are opened inside the container's namespace (links.dns_sockets) and served here, on
hakod's event loop; closing them lets the namespace go.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Callable

log = logging.getLogger(__name__)

TYPE_A, TYPE_AAAA, CLASS_IN = 1, 28, 1
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3
TTL = 600
FORWARD_TIMEOUT = 3.0

Resolver = Callable[[str], "list[str] | None"]     # name → addresses, or None: not ours


def parse_question(message: bytes) -> tuple[int, int, str, int, int]:
    """(id, flags, name, qtype, end offset of the question) of a query; ValueError if malformed."""
    if len(message) < 12:
        raise ValueError("short message")
    qid, flags, qdcount = struct.unpack("!HHH", message[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    labels, offset = [], 12
    while True:
        if offset >= len(message):
            raise ValueError("truncated name")
        length = message[offset]
        offset += 1
        if length == 0:
            break
        if length & 0xC0:
            raise ValueError("compressed question name")
        labels.append(message[offset:offset + length].decode("ascii", "replace"))
        offset += length
    if offset + 4 > len(message):
        raise ValueError("truncated question")
    qtype, _qclass = struct.unpack("!HH", message[offset:offset + 4])
    return qid, flags, ".".join(labels), qtype, offset + 4


def answer(message: bytes, addresses: list[str]) -> bytes:
    """The reply to ``message`` with A records for ``addresses`` (none for other types: NOERROR,
    so the client does not go on to search domains)."""
    qid, flags, _name, qtype, end = parse_question(message)
    records = [a for a in addresses if qtype == TYPE_A]
    header = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080, 1, len(records), 0, 0)
    body = message[12:end]
    for address in records:
        # a pointer (0xC00C) to the question's name, then type, class, TTL, length, address
        body += struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, TTL, 4) + socket.inet_aton(address)
    return header + body


def failure(message: bytes, rcode: int) -> bytes:
    qid, flags = struct.unpack("!HH", message[:4])
    try:
        end = parse_question(message)[4]
    except ValueError:
        return struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x0100) | 0x0080 | rcode, 0, 0, 0, 0)
    return struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x0100) | 0x0080 | rcode, 1, 0, 0, 0) + message[12:end]


class _Forward(asyncio.DatagramProtocol):
    def __init__(self, future: asyncio.Future):
        self.future = future

    def datagram_received(self, data, addr):
        if not self.future.done():
            self.future.set_result(data)


class Server:
    """Serves one container: ``resolver`` answers for hako's names, ``upstreams`` for the rest."""

    def __init__(self, resolver: Resolver, upstreams: list[str]):
        self.resolver = resolver
        self.upstreams = upstreams
        self.closers: list = []

    async def start(self, udp: socket.socket, tcp: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _UDP(self), sock=udp)
        server = await asyncio.start_server(self._tcp_client, sock=tcp)
        self.closers = [transport.close, server.close]

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers = []

    async def reply(self, message: bytes) -> bytes | None:
        try:
            _qid, _flags, name, qtype, _end = parse_question(message)
        except ValueError:
            return failure(message, 1) if len(message) >= 4 else None   # FORMERR
        addresses = self.resolver(name.rstrip(".").lower()) if qtype in (TYPE_A, TYPE_AAAA) else None
        if addresses is not None:
            return answer(message, addresses)
        return await self.forward(message)

    async def forward(self, message: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        for server in self.upstreams:
            future = loop.create_future()
            try:
                transport, _ = await loop.create_datagram_endpoint(lambda: _Forward(future), remote_addr=(server, 53))
            except OSError:
                continue
            try:
                transport.sendto(message)
                return await asyncio.wait_for(future, FORWARD_TIMEOUT)
            except (asyncio.TimeoutError, OSError):
                continue
            finally:
                transport.close()
        return failure(message, SERVFAIL)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                response = await self.reply(await reader.readexactly(size))
                if response is None:
                    break
                writer.write(struct.pack("!H", len(response)) + response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: Server):
        self.server = server
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        asyncio.get_running_loop().create_task(self._answer(data, addr))

    async def _answer(self, data, addr):
        response = await self.server.reply(data)
        if response is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(response, addr)


def host_nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    servers = []
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver" and ":" not in fields[1]:
                    servers.append(fields[1])
    except OSError:
        pass
    return servers
