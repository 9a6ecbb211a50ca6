"""Reading a stream ahead in a thread of its own.

Unpacking a layer is two jobs in a row: decompressing (zlib and zstd release the GIL while they
work) and parsing the tar and writing files (Python, holding it). With the decompression in a
second thread the two overlap on a machine with more than one CPU.
"""

from __future__ import annotations

import queue
import threading
from typing import BinaryIO

CHUNK = 1 << 20
DEPTH = 8            # chunks read ahead at most: bounded memory


class ReadAhead:
    def __init__(self, raw: BinaryIO, chunk: int = CHUNK, depth: int = DEPTH):
        self._raw = raw
        self._chunk = chunk
        self._queue: queue.Queue = queue.Queue(depth)
        self._buffer = b""
        self._pos = 0
        self._done = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="readahead", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._raw.read(self._chunk)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            self._put(exc)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _next(self) -> bytes:
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if not item:
            self._done = True
        return item

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buffer[self._pos:]]
            self._buffer, self._pos = b"", 0
            while not self._done:
                parts.append(self._next())
            return b"".join(parts)
        available = len(self._buffer) - self._pos
        if available >= size:                       # the common case: a slice, no copy of the rest
            data = self._buffer[self._pos:self._pos + size]
            self._pos += size
            return data
        parts = [self._buffer[self._pos:]]
        while available < size and not self._done:
            chunk = self._next()
            parts.append(chunk)
            available += len(chunk)
        joined = b"".join(parts)
        self._buffer, self._pos = joined, min(size, len(joined))
        return joined[:size]

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
