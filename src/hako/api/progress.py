"""Docker's JSON progress stream (the jsonmessage format) for pulls, pushes and loads.

The response starts at the first message, so an operation that fails before reporting anything
gets an ordinary HTTP error status; after that, errors travel in the stream as
{"errorDetail": {"message": …}, "error": …}, as dockerd sends them. Messages may come from worker
threads; byte counts for the same id are sent at most every 100 ms, the last one always.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from .server import COMMON_HEADERS

_INTERVAL = 0.1


def human_size(size: float) -> str:
    """go-units HumanSize: decimal units, four significant digits."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.4g}{units[i]}"


def progress_bar(current: int, total: int) -> str:
    """The "progress" string of a JSONProgress, as the daemon renders it for a wide terminal."""
    if total <= 0:
        return f"{human_size(current):>8}"
    filled = min(50, int(current / total * 100) // 2)
    bar = "[" + "=" * filled + (">" if filled < 50 else "") + " " * (50 - filled - (1 if filled < 50 else 0)) + "] "
    return bar + f"{human_size(current):>8}/{human_size(total)}"


class JSONProgress:
    def __init__(self, request: web.Request, quiet: bool = False):
        self.request = request
        self.quiet = quiet
        self.response: web.StreamResponse | None = None
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self._last: dict[str, float] = {}

    # Progress protocol (thread-safe)
    def status(self, message: str, id: str | None = None) -> None:
        msg = {"status": message}
        if id:
            msg["id"] = id
        self._put(msg)

    def layer(self, id: str, message: str) -> None:
        # dockerd sends an empty progressDetail with every per-layer line, and the docker CLI
        # redraws a layer's line in place only when it is there.
        self._put({"status": message, "progressDetail": {}, "id": id})

    def bytes(self, id: str, action: str, current: int, total: int) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        key = f"{id}/{action}"
        if current < total and now - self._last.get(key, 0) < _INTERVAL:
            return
        self._last[key] = now
        self._put({"status": action, "progressDetail": {"current": current, "total": total},
                   "progress": progress_bar(current, total), "id": id})

    def aux(self, data: dict) -> None:
        self._put({"progressDetail": {}, "aux": data})

    def _put(self, msg: dict) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.queue.put_nowait(msg)
        else:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, msg)

    # the writer side
    async def run(self, operation) -> web.StreamResponse:
        """Run ``operation`` (a coroutine) while streaming what it reports."""
        task = asyncio.ensure_future(operation)
        try:
            while True:
                getter = asyncio.ensure_future(self.queue.get())
                done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await self._send(getter.result())
                    continue
                if not getter.cancel() and not getter.cancelled():
                    await self._send(getter.result())     # it got a message after all
                break
            await self._drain()
            exc = task.exception()
            if exc is not None:
                if self.response is None:
                    raise exc
                message = str(exc) or type(exc).__name__
                await self._send({"errorDetail": {"message": message}, "error": message})
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.response is None:
            await self._start()
        await self.response.write_eof()
        return self.response

    async def _drain(self) -> None:
        await asyncio.sleep(0)
        while not self.queue.empty():
            await self._send(self.queue.get_nowait())

    async def _start(self) -> None:
        self.response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/json"})
        self.response.enable_chunked_encoding()
        await self.response.prepare(self.request)

    async def _send(self, msg: dict) -> None:
        if self.response is None:
            await self._start()
        await self.response.write(json.dumps(msg).encode() + b"\r\n")
