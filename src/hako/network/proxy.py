"""The userland proxy: published ports on the host's loopback, where NAT cannot help.

Packets to 127.0.0.1 never cross a bridge, so a DNAT rule cannot send them to a container
(without route_localnet); docker-proxy listens on the host port and relays instead. hako does the
same inside hakod, on its event loop: the listening socket also holds the port, so a second
container asking for it fails with Docker's "port is already allocated". A proxy in hakod ends
with hakod; live restore opens them again for the containers that still run.
"""

from __future__ import annotations

import asyncio
import logging
import socket

log = logging.getLogger(__name__)

HIGH_WATER = 256 * 1024


class _Pipe(asyncio.Protocol):
    """One direction's receiver: what arrives is written to the peer, with back-pressure."""

    def __init__(self):
        self.transport = None
        self.peer: "_Pipe | None" = None
        self.pending: list[bytes] = []

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(HIGH_WATER)

    def data_received(self, data):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            self.pending.append(data)

    def eof_received(self):
        if self.peer is not None and self.peer.transport is not None and self.peer.transport.can_write_eof():
            self.peer.transport.write_eof()
        return True

    def connection_lost(self, exc):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    # flow control: the peer's buffer filled up, so stop reading here
    def pause_writing(self):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class TCPProxy:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.server: asyncio.AbstractServer | None = None
        self.connections: set = set()
        self.pipes: set = set()

    async def start(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._accepted, sock=sock)

    def _accepted(self):
        client = _Pipe()
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._connect(client))
        self.connections.add(task)
        task.add_done_callback(self.connections.discard)
        return client

    async def _connect(self, client: _Pipe) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(_Pipe, *self.target)
        except OSError as exc:
            log.debug("proxy to %s: %s", self.target, exc)
            if client.transport is not None:
                client.transport.close()
            return
        if client.transport is None or client.transport.is_closing():
            upstream.transport.close()
            return
        client.peer, upstream.peer = upstream, client
        self.pipes.update((client, upstream))
        for data in client.pending:
            upstream.transport.write(data)
        client.pending.clear()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in self.connections:
            task.cancel()
        for pipe in self.pipes:
            if pipe.transport is not None:
                pipe.transport.close()
        self.pipes.clear()


class _UDPFront(asyncio.DatagramProtocol):
    def __init__(self, proxy: "UDPProxy"):
        self.proxy = proxy

    def connection_made(self, transport):
        self.proxy.front = transport

    def datagram_received(self, data, addr):
        self.proxy.forward(data, addr)


class _UDPBack(asyncio.DatagramProtocol):
    def __init__(self, proxy: "UDPProxy", client):
        self.proxy, self.client = proxy, client

    def datagram_received(self, data, addr):
        if self.proxy.front is not None:
            self.proxy.front.sendto(data, self.client)


UDP_IDLE = 90.0     # docker-proxy's UDP "connection" timeout


class UDPProxy:
    """One upstream socket per client address, as docker-proxy keeps its UDP "connections";
    one left idle for UDP_IDLE seconds is closed."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.front = None
        self.backs: dict = {}
        self.last_used: dict = {}
        self.opening: dict = {}
        self.sweeper = None

    async def start(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: _UDPFront(self), sock=sock)

    def forward(self, data: bytes, client) -> None:
        loop = asyncio.get_running_loop()
        self.last_used[client] = loop.time()
        if self.sweeper is None:
            self.sweeper = loop.call_later(UDP_IDLE / 3, self._sweep)
        if client in self.opening:          # its upstream socket is being made: queue
            self.opening[client].append(data)
            return
        back = self.backs.get(client)
        if back is not None:
            back.sendto(data)
            return
        self.opening[client] = [data]

        async def open_back():
            try:
                transport, _ = await loop.create_datagram_endpoint(lambda: _UDPBack(self, client),
                                                                   remote_addr=self.target)
            except OSError as exc:
                log.debug("udp proxy to %s: %s", self.target, exc)
                self.opening.pop(client, None)
                return
            self.backs[client] = transport
            for queued in self.opening.pop(client, []):
                transport.sendto(queued)

        loop.create_task(open_back())

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        for client, used in list(self.last_used.items()):
            if loop.time() - used > UDP_IDLE:
                back = self.backs.pop(client, None)
                if back is not None:
                    back.close()
                del self.last_used[client]
        self.sweeper = loop.call_later(UDP_IDLE / 3, self._sweep) if self.last_used else None

    def close(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
            self.sweeper = None
        if self.front is not None:
            self.front.close()
        for back in self.backs.values():
            back.close()
        self.backs.clear()
