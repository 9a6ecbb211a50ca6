"""File objects that pass another's bytes through while doing one thing more."""

from __future__ import annotations


class _Passthrough:
    """Reads ``raw``; subclasses see each chunk in ``_seen``."""

    def __init__(self, raw):
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self._seen(data)
        return data

    def _seen(self, data: bytes) -> None:
        raise NotImplementedError

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class CountingReader(_Passthrough):
    """Reports how much has been read, every ``every`` bytes and at the end."""

    def __init__(self, raw, report, every: int = 1 << 20):
        super().__init__(raw)
        self.read_bytes = 0
        self._report = report
        self._every = every
        self._next = every

    def _seen(self, data: bytes) -> None:
        self.read_bytes += len(data)
        if self.read_bytes >= self._next or not data:
            self._next = self.read_bytes + self._every
            self._report(self.read_bytes)


class TeeReader(_Passthrough):
    """Copies every byte read into ``writer`` (anything with ``write``)."""

    def __init__(self, raw, writer):
        super().__init__(raw)
        self.writer = writer

    def _seen(self, data: bytes) -> None:
        if data:
            self.writer.write(data)
