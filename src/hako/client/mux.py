"""The multiplexed stream framing of non-TTY attach, exec and logs.

Each write from the daemon is an 8-byte header and a payload::

    byte 0      stream: 0 stdin, 1 stdout, 2 stderr, 3 "system error" (a message from the daemon)
    bytes 1-3   zero
    bytes 4-7   payload length, big-endian uint32

Frames arrive split and glued arbitrarily by the transport (one read may hold two frames, or
half a header), so `Demuxer` keeps the unfinished part between feeds::

    demux = Demuxer()
    demux.feed(b"\\x01\\0\\0\\0\\0\\0\\0\\x03hi\\n\\x02\\0\\0")   # -> [(1, b"hi\\n")]
    demux.feed(b"\\0\\0\\0\\0\\x01!")                          # -> [(2, b"!")]
"""

from __future__ import annotations

STDIN, STDOUT, STDERR, SYSERR = 0, 1, 2, 3
HEADER_SIZE = 8


class Demuxer:
    """Turns a byte stream into ``(stream, payload)`` frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add bytes; return the frames they complete, in order."""
        buf = self._buf
        buf += data
        frames = []
        pos = 0
        while len(buf) - pos >= HEADER_SIZE:
            size = int.from_bytes(buf[pos + 4:pos + 8], "big")
            end = pos + HEADER_SIZE + size
            if len(buf) < end:
                break
            frames.append((buf[pos], bytes(buf[pos + HEADER_SIZE:end])))
            pos = end
        del buf[:pos]
        return frames

    @property
    def pending(self) -> int:
        """Bytes held back as part of an unfinished frame."""
        return len(self._buf)


def frame(stream: int, payload: bytes) -> bytes:
    """Encode one frame (used by tests and fakes)."""
    return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload
