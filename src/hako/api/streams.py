"""Hijacked connections (attach, exec start) and chunked streaming responses.

After `101 UPGRADED` the HTTP connection is a raw byte pipe. aiohttp's own protocol closes the
transport when the client half-closes (its eof_received returns None), which would lose the
output the process writes after the client's stdin ended; so the transport is handed to
`RawStream`, which keeps it open for writing after EOF and exposes both directions to asyncio.

The trap of docker-api-notes.md section 7: asyncio holds tasks weakly. Every per-connection task
is kept in `LIVE_TASKS` until it ends.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

LIVE_TASKS: set[asyncio.Task] = set()


def keep(task: asyncio.Task) -> asyncio.Task:
    LIVE_TASKS.add(task)
    task.add_done_callback(LIVE_TASKS.discard)
    return task


class RawStream(asyncio.Protocol):
    """The client's side of a hijacked connection."""

    def __init__(self, transport: asyncio.Transport, initial: bytes):
        self.transport = transport
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()
        if initial:
            self.queue.put_nowait(initial)

    # asyncio.Protocol
    def data_received(self, data: bytes) -> None:
        self.queue.put_nowait(data)

    def eof_received(self) -> bool:
        self.queue.put_nowait(b"")      # the client's stdin ended; keep sending it output
        return True

    def connection_lost(self, exc) -> None:
        self.queue.put_nowait(None)
        self.closed.set()
        self._can_write.set()

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # for the handler
    async def read(self) -> bytes | None:
        """Bytes from the client; b"" once at its half-close; None when the connection is gone."""
        return await self.queue.get()

    async def write(self, data: bytes) -> None:
        if self.closed.is_set():
            raise ConnectionResetError("client went away")
        self.transport.write(data)
        await self._can_write.wait()

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def hijack(request: web.Request, content_type: str, extra_headers: dict[str, str] | None = None) -> RawStream:
    """Answer 101 and take the connection over from aiohttp."""
    transport = request.transport
    protocol = request.protocol
    tail = getattr(protocol, "_message_tail", b"")   # bytes the client sent after the request
    if tail:
        protocol._message_tail = b""
    stream = RawStream(transport, tail)
    transport.set_protocol(stream)
    headers = {"Content-Type": content_type, "Connection": "Upgrade", "Upgrade": "tcp", **(extra_headers or {})}
    head = "HTTP/1.1 101 UPGRADED\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    transport.write(head.encode())
    return stream


def wants_upgrade(request: web.Request) -> bool:
    return "upgrade" in request.headers.get("Connection", "").lower() and bool(request.headers.get("Upgrade"))


class HijackedResponse(web.StreamResponse):
    """What a hijacking handler returns: aiohttp must not write anything more on that connection."""

    def __init__(self):
        super().__init__(status=101)
        self.force_close()

    async def prepare(self, request):   # noqa: D401 - nothing to send, the 101 went out already
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None
