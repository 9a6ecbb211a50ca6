"""Writing a layer tar quickly: ustar headers made directly for the common entry (a short name,
small numbers), tarfile's PAX headers for anything else.

    stream = TarStream(out)
    stream.entry("app/main.py", tarfile.REGTYPE, 0o644, 0, 0, mtime, size=n, fileobj=f)
    stream.add(tarinfo, fileobj)        # any TarInfo, e.g. from another archive
    stream.close()                      # the two zero blocks that end a tar

COPY of thousands of small files spends most of its tar writing in tarfile's per-member
machinery; a header here is one bytes join and a checksum. The output is a plain POSIX tar that
tarfile (and the snapshot store's extraction) read like any other.
"""

from __future__ import annotations

import tarfile

BLOCK = 512
_MAX_OCTAL_7 = 0o7777777
_MAX_OCTAL_11 = 0o77777777777
_CHUNK = 1 << 20


class TarStream:
    def __init__(self, out):
        self.out = out

    def entry(self, name: str, kind: bytes, mode: int, uid: int, gid: int, mtime: int, *, size: int = 0,
              linkname: str = "", fileobj=None) -> None:
        header = _ustar(name, kind, mode, uid, gid, mtime, size, linkname)
        if header is None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, mtime
            info.size, info.linkname = size, linkname
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        self.out.write(header)
        if kind == tarfile.REGTYPE and size:
            self._data(fileobj, size)

    def add(self, info: tarfile.TarInfo, fileobj=None) -> None:
        self.out.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        if info.isreg() and info.size:
            self._data(fileobj, info.size)

    def _data(self, fileobj, size: int) -> None:
        left = size
        while left:
            chunk = fileobj.read(min(left, _CHUNK))
            if not chunk:
                raise OSError(f"unexpected end of data: {left} of {size} bytes missing")
            self.out.write(chunk)
            left -= len(chunk)
        if size % BLOCK:
            self.out.write(b"\0" * (BLOCK - size % BLOCK))

    def close(self) -> None:
        self.out.write(b"\0" * (2 * BLOCK))


def _ustar(name: str, kind: bytes, mode: int, uid: int, gid: int, mtime: int, size: int,
           linkname: str) -> bytes | None:
    """A ustar header, or None when the entry needs PAX records (long or non-ASCII names,
    large numbers)."""
    if not name.isascii() or not linkname.isascii():
        return None
    raw_name, raw_link = name.encode(), linkname.encode()
    if len(raw_name) > 100 or len(raw_link) > 100 or max(uid, gid) > _MAX_OCTAL_7 or size > _MAX_OCTAL_11 \
            or not 0 <= mtime <= _MAX_OCTAL_11 or min(uid, gid) < 0:
        return None
    parts = [
        raw_name.ljust(100, b"\0"),
        b"%07o\0" % (mode & 0o7777),
        b"%07o\0" % uid,
        b"%07o\0" % gid,
        b"%011o\0" % size,
        b"%011o\0" % mtime,
        b"        ",                 # the checksum field counts as spaces while summing
        kind,
        raw_link.ljust(100, b"\0"),
        b"ustar\x0000",
        b"\0" * 32, b"\0" * 32,      # uname, gname: numeric owners only
        b"\0" * 8, b"\0" * 8,        # devmajor, devminor
        b"\0" * 155,                 # prefix
        b"\0" * 12,
    ]
    header = bytearray(b"".join(parts))
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)
