"""Container logs in Docker's json-file format: writing, rotating, reading, following.

A container's output is stored one JSON object per line, byte for byte as dockerd's json-file
driver writes it, so tools that read Docker's log files read hako's::

    {"log":"hello\\n","stream":"stdout","time":"2026-11-28T19:20:00.123456789Z"}

The monitor writes (synchronously, no threads)::

    writer = JsonFileWriter("/var/lib/hako/containers/<id>/<id>-json.log", *parse_log_opts(opts))
    writer.write("stdout", b"hel")       # buffered: not a line yet
    writer.write("stdout", b"lo\\nbye")  # writes {"log":"hello\\n",...}; "bye" stays buffered
    writer.close()                       # end of the streams: writes {"log":"bye\\n",...}

The daemon reads, and follows from asyncio by polling::

    entries = read_entries(path, stderr=False, tail=10)
    follower = LogFollower(path, since=parse_time("10m", time.time()))
    history = follower.backlog(tail=10)  # what was there when the follower started
    new = follower.poll()                # what was appended since; never blocks

Rotation is Docker's: with ``max-size`` set, once the live file has reached it the next entry
first renames ``path`` to ``path.1`` (``path.1`` to ``path.2`` …, keeping ``max-file`` files in all).
Like Docker, the check comes before an entry is written, so a file can end up to one entry
larger than ``max-size``.

Errors: ``ValueError`` for bad options and times (messages worded as Docker's); ``OSError`` from
opening a log file. Write errors after that are logged and the entry dropped, as dockerd does,
so a full disk does not take the container's monitor down.
"""

from __future__ import annotations

import calendar
import collections
import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

# dockerd's copier reads a stream into a 16 KiB buffer; a line that fills it without a newline is
# logged in 16 KiB pieces, each one an entry without "\n" (a "partial" message).
MAX_LINE = 16 * 1024

# dockerd creates log files 0640.
FILE_MODE = 0o640

# ---- encoding an entry -----------------------------------------------------------------------

# Characters dockerd's jsonlog escapes (ffjsonWriteJSONBytesAsString): control characters, the
# JSON specials, <, > and & (HTML-safe like encoding/json), and U+2028/U+2029. Invalid UTF-8
# arrives here as surrogate escapes (U+DC80..U+DCFF, one per byte) and becomes U+FFFD per byte,
# exactly as Go's utf8.DecodeRune reports one RuneError per invalid byte.
_ESCAPED = re.compile("[\x00-\x1f\"\\\\<>&\u2028\u2029\udc80-\udcff]")


def _escape_char(match: re.Match) -> str:
    c = match.group()
    if c in ('"', "\\"):
        return "\\" + c
    if c == "\n":
        return "\\n"
    if c == "\r":
        return "\\r"  # no \t shortcut: jsonlog writes a tab as \u0009
    if "\udc80" <= c <= "\udcff":
        return "\\ufffd"
    return f"\\u{ord(c):04x}"


def json_string(data: bytes) -> str:
    """``data`` as a JSON string literal, escaped exactly as dockerd's json-file driver does."""
    text = data.decode("utf-8", "surrogateescape")
    return '"' + _ESCAPED.sub(_escape_char, text) + '"'


def rfc3339nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction trimmed, no fraction if 0."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


def encode_entry(stream: str, data: bytes, ns: int) -> bytes:
    """One line of a json-file log, with its newline. Field order and escaping are Docker's."""
    return ('{"log":' + json_string(data) + ',"stream":' + json_string(stream.encode())
            + ',"time":"' + rfc3339nano(ns) + '"}\n').encode("utf-8")


# ---- options ---------------------------------------------------------------------------------

# The keys dockerd's json-file driver accepts (ValidateLogOpt). Only max-size and max-file change
# what is written; compress, labels, env and tag are accepted and not acted on.
KNOWN_OPTS = ("max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag")

# go-units' FromHumanSize: decimal multipliers, an optional "i" and "b" after the unit.
_SIZE = re.compile(r"^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$", re.ASCII)
_DECIMAL = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}


def parse_size(value: str) -> int:
    """A size as Docker's ``max-size`` takes it: "10k" is 10000 bytes (decimal units, as dockerd)."""
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"invalid size: '{value}'")
    try:
        number = float(match.group(1))
    except ValueError:  # "1.2.3" passes the pattern and fails Go's ParseFloat too
        raise ValueError(f'strconv.ParseFloat: parsing "{match.group(1)}": invalid syntax') from None
    return int(number * _DECIMAL[(match.group(3) or "").lower()])


def parse_log_opts(opts: dict[str, str]) -> tuple[int | None, int]:
    """(max_size in bytes or None, max_file) from a container's json-file ``LogConfig.Config``.

    Validation and messages follow dockerd. As there, ``max-file`` without ``max-size`` is accepted
    and has no effect: a file without a size limit is never rotated.
    """
    for key in opts:
        if key not in KNOWN_OPTS:
            raise ValueError(f"unknown log opt '{key}' for json-file log driver")
    max_size = None
    if "max-size" in opts:
        max_size = parse_size(opts["max-size"])
        if max_size <= 0:
            raise ValueError("max-size must be a positive number")
    max_file = 1
    if "max-file" in opts:
        raw = opts["max-file"]
        if not re.fullmatch(r"[+-]?[0-9]+", raw):
            raise ValueError(f'strconv.Atoi: parsing "{raw}": invalid syntax')
        max_file = int(raw)
        if max_file < 1:
            raise ValueError("max-file cannot be less than 1")
    if "compress" in opts:
        compress = opts["compress"].lower() in ("1", "t", "true")
        if opts["compress"].lower() not in ("1", "t", "true", "0", "f", "false"):
            raise ValueError(f'strconv.ParseBool: parsing "{opts["compress"]}": invalid syntax')
        if compress and (max_file == 1 or max_size is None):
            raise ValueError("compress cannot be true when max-file is less than 2 "
                             "or max-size is not set")
    return max_size, max_file


# ---- writing ---------------------------------------------------------------------------------

class JsonFileWriter:
    """Appends a container's stdout and stderr to a json-file log, rotating it like dockerd.

    ``write`` splits data into lines, one entry per line; an unfinished line waits in memory for
    its newline (per stream, as dockerd copies each stream on its own). Every entry reaches the
    file with a single write(2) on an O_APPEND descriptor, nothing is buffered in user space, so
    a monitor killed with SIGKILL loses at most its unfinished lines.
    """

    def __init__(self, path: str, max_size: int | None = None, max_file: int = 1):
        if max_size is not None and max_size <= 0:
            raise ValueError("max-size must be a positive number")
        if max_file < 1:
            raise ValueError("max-file cannot be less than 1")
        self.path = path
        self.max_size = max_size
        self.max_file = max_file
        self._partial: dict[str, bytearray] = {}
        # Pieces of one long line share the time of the first piece (dockerd's partialTS).
        self._partial_ns: dict[str, int] = {}
        self._fd = -1
        self._size = 0
        self._closed = False
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        self._size = os.fstat(self._fd).st_size
        if self._size and not _ends_with_newline(self.path, self._size):
            # A writer killed in the middle of a write(2) left half an entry; end it, so the next
            # entry starts on a line of its own and readers skip only the torn one.
            self._append(b"\n")

    def write(self, stream: str, data: bytes, when: float | None = None) -> None:
        """Log ``data`` read from ``stream`` ("stdout" or "stderr") at ``when`` (default: now)."""
        if self._closed:
            raise ValueError("write to a closed JsonFileWriter")
        ns = time.time_ns() if when is None else round(when * 1_000_000_000)
        buffer = self._partial.setdefault(stream, bytearray())
        buffer += data
        start = 0
        while True:
            newline = buffer.find(b"\n", start)
            if newline < 0:
                break
            self._line(stream, bytes(buffer[start:newline]), ns)
            start = newline + 1
        del buffer[:start]
        while len(buffer) >= MAX_LINE:
            self._piece(stream, bytes(buffer[:MAX_LINE]), ns)
            del buffer[:MAX_LINE]

    def flush(self, stream: str | None = None, when: float | None = None) -> None:
        """End ``stream`` (or every stream): its unfinished line is written now.

        Meant for the end of a stream. Like dockerd at EOF, the line is stored with a "\\n"
        although the container never wrote one.
        """
        ns = time.time_ns() if when is None else round(when * 1_000_000_000)
        for name in [stream] if stream else list(self._partial):
            buffer = self._partial.get(name)
            if buffer:
                self._line(name, bytes(buffer), ns)
                buffer.clear()
            self._partial_ns.pop(name, None)

    def close(self, when: float | None = None) -> None:
        """Flush every stream and close the file. Closing twice is harmless."""
        if self._closed:
            return
        self.flush(when=when)
        self._closed = True
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "JsonFileWriter":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _line(self, stream: str, line: bytes, ns: int) -> None:
        """A complete line: long ones go out in MAX_LINE pieces, the rest ends with "\\n"."""
        while len(line) >= MAX_LINE:
            self._piece(stream, line[:MAX_LINE], ns)
            line = line[MAX_LINE:]
        ns = self._partial_ns.pop(stream, ns)
        self._entry(encode_entry(stream, line + b"\n", ns))

    def _piece(self, stream: str, piece: bytes, ns: int) -> None:
        ns = self._partial_ns.setdefault(stream, ns)
        self._entry(encode_entry(stream, piece, ns))

    def _entry(self, entry: bytes) -> None:
        try:
            if self._fd < 0:
                self._open()  # a rotation failed half-way: try again with this entry
            if self.max_size is not None and self._size >= self.max_size:
                self._rotate()
            self._append(entry)
        except OSError as exc:
            log.warning("log %s: dropping an entry: %s", self.path, exc)

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # a regular file takes it in one call; loop only for a short write
            written = os.write(self._fd, view)
            self._size += written
            view = view[written:]

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        if self.max_file > 1:
            _remove(f"{self.path}.{self.max_file - 1}")
            for i in range(self.max_file - 1, 1, -1):
                _rename(f"{self.path}.{i - 1}", f"{self.path}.{i}")
            _rename(self.path, f"{self.path}.1")
        else:
            # dockerd truncates in place; a new file (new inode) keeps followers from mistaking
            # new entries for old ones. The result on disk is the same single file.
            _remove(self.path)
        self._open()


def _ends_with_newline(path: str, size: int) -> bool:
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _rename(source: str, target: str) -> None:
    try:
        os.rename(source, target)
    except FileNotFoundError:
        pass


# ---- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogEntry:
    """One stored entry. ``time`` is the text as stored; ``timestamp`` the same in unix seconds."""
    stream: str
    data: bytes
    time: str
    timestamp: float


@dataclass(frozen=True)
class _Filter:
    stdout: bool = True
    stderr: bool = True
    since: float = 0
    until: float | None = None

    def accepts(self, entry: LogEntry) -> bool:
        # Docker: since and until are inclusive; since=0 and until=None mean no bound.
        if entry.stream == "stdout" and not self.stdout:
            return False
        if entry.stream == "stderr" and not self.stderr:
            return False
        if self.since and entry.timestamp < self.since:
            return False
        return self.until is None or entry.timestamp <= self.until


def decode_entry(line: bytes) -> LogEntry | None:
    """The entry stored on one line, or None for a line that is not one (torn by a crash)."""
    try:
        record = json.loads(line)
        if not isinstance(record, dict):
            return None
        stamp, data, stream = record["time"], record.get("log", ""), record.get("stream", "")
        ns = parse_rfc3339_ns(stamp)
        # A lone surrogate escape (never written by Docker or hako) becomes "?".
        return LogEntry(stream=stream, data=data.encode("utf-8", "replace"), time=stamp,
                        timestamp=ns / 1e9)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def rotated_files(path: str) -> list[str]:
    """``path.N`` … ``path.1``: the rotated files of a log, oldest first (gaps allowed)."""
    directory, base = os.path.split(path)
    pattern = re.compile(re.escape(base) + r"\.([0-9]+)")
    try:
        names = os.listdir(directory or ".")
    except FileNotFoundError:
        return []
    numbered = [(int(m.group(1)), name) for name in names if (m := pattern.fullmatch(name))]
    return [os.path.join(directory, name) for _, name in sorted(numbered, reverse=True)]


def read_entries(path: str, *, stdout: bool = True, stderr: bool = True, since: float = 0,
                 until: float | None = None, tail: int | None = None) -> list[LogEntry]:
    """Every stored entry that passes the filters, oldest first: rotated files, then ``path``.

    ``tail`` keeps the last N entries after the stream and time filters; None or a negative
    number keeps all, 0 none (``docker logs --tail 0 -f`` shows only new output).
    """
    selected = _Filter(stdout, stderr, since, until)
    kept = _keeper(tail)
    for name in [*rotated_files(path), path]:
        try:
            with open(name, "rb") as f:
                for entry in _entries(f, selected):
                    kept.append(entry)
        except FileNotFoundError:
            continue  # rotated away while we listed
    return list(kept)


def _keeper(tail: int | None):
    if tail is None or tail < 0:
        return []
    return collections.deque(maxlen=tail)


def _entries(lines, selected: _Filter):
    for line in lines:
        if not line.strip():
            continue
        entry = decode_entry(line)
        if entry is not None and selected.accepts(entry):
            yield entry


# ---- following -------------------------------------------------------------------------------

class LogFollower:
    """New entries of a live log, by polling: ``poll()`` returns what was appended since the
    last call and never blocks. It keeps the file open, so entries written just before a
    rotation are still read from the renamed file; then it moves on to the new ``path``.

    It starts at the current end of the log; ``backlog(tail)`` returns what came before that
    point, so history and new entries meet without a gap or a repeat. With ``until`` set the
    caller ends the stream once that time has passed (``poll`` drops later entries).
    """

    _CHUNK = 1 << 16

    def __init__(self, path: str, stdout: bool = True, stderr: bool = True, since: float = 0,
                 until: float | None = None):
        self.path = path
        self._filter = _Filter(stdout, stderr, since, until)
        self._fd = -1
        self._identity: tuple[int, int] | None = None
        self._pending = b""
        self._start = 0
        self._open(at_end=True)
        self._start = os.lseek(self._fd, 0, os.SEEK_CUR) if self._fd >= 0 else 0

    def backlog(self, tail: int | None = None) -> list[LogEntry]:
        """The entries stored before this follower started, as ``read_entries`` filters them."""
        kept = _keeper(tail)
        for name in rotated_files(self.path):
            try:
                with open(name, "rb") as f:
                    if self._identity == _identity(os.fstat(f.fileno())):
                        break  # our own file, rotated since we opened it: read below
                    kept.extend(_entries(f, self._filter))
            except FileNotFoundError:
                continue
        if self._fd >= 0:
            kept.extend(_entries(_lines_before(self._fd, self._start), self._filter))
        return list(kept)

    def poll(self) -> list[LogEntry]:
        found: list[LogEntry] = []
        if self._fd < 0:
            self._open(at_end=False)  # the log appeared after we started: all of it is new
            if self._fd < 0:
                return found
        found += self._drain()
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return found  # renamed away, its successor not created yet
        if _identity(current) != self._identity:
            found += self._drain()  # entries that reached the old file before the rename
            found += self._catch_up()
        elif current.st_size < os.lseek(self._fd, 0, os.SEEK_CUR):
            os.lseek(self._fd, 0, os.SEEK_SET)  # truncated in place by someone else
            self._pending = b""
            found += self._drain()
        return found

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "LogFollower":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _catch_up(self) -> list[LogEntry]:
        """Our file was rotated, maybe several times since the last poll: read every file newer
        than ours, oldest first, and follow the newest. All are opened before any is read, so
        renames while we read change nothing (a rename between two opens at worst opens one
        file twice, which the identity check drops)."""
        opened: list[tuple[int, tuple[int, int]]] = []
        for name in rotated_files(self.path) + [self.path]:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            identity = _identity(os.fstat(fd))
            if any(identity == seen for _, seen in opened):
                os.close(fd)
                continue
            opened.append((fd, identity))
        mine = [i for i, (_, identity) in enumerate(opened) if identity == self._identity]
        newer = opened[mine[-1] + 1:] if mine else opened
        for fd, _ in opened:
            if all(fd != keep for keep, _ in newer):
                os.close(fd)
        os.close(self._fd)
        self._fd, self._pending = -1, b""   # a torn last line of the old file never completes
        found: list[LogEntry] = []
        if not newer:
            return found
        for fd, _ in newer[:-1]:
            self._fd = fd
            found += self._drain()
            os.close(fd)
            self._pending = b""
        self._fd, self._identity = newer[-1]
        found += self._drain()
        return found

    def _open(self, at_end: bool) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        status = os.fstat(self._fd)
        self._identity = _identity(status)
        if at_end:
            # Start after the last complete entry: a half-written one is read when it completes.
            os.lseek(self._fd, _after_last_newline(self._fd, status.st_size), os.SEEK_SET)

    def _drain(self) -> list[LogEntry]:
        chunks = [self._pending]
        while data := os.read(self._fd, self._CHUNK):
            chunks.append(data)
        data = b"".join(chunks)
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        return list(_entries(data[:cut].split(b"\n"), self._filter))


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def _lines_before(fd: int, end: int, chunk: int = 1 << 16):
    """The lines of an open file up to offset ``end``, read a chunk at a time."""
    pending, offset = b"", 0
    while offset < end:
        data = os.pread(fd, min(chunk, end - offset), offset)
        if not data:
            break
        offset += len(data)
        *complete, pending = (pending + data).split(b"\n")
        yield from complete
    if pending:
        yield pending


def _after_last_newline(fd: int, end: int) -> int:
    """The offset just past the last "\n" before ``end``, or 0 when there is none."""
    position = end
    while position > 0:
        size = min(position, 1 << 16)
        newline = os.pread(fd, size, position - size).rfind(b"\n")
        if newline >= 0:
            return position - size + newline + 1
        position -= size
    return 0


# ---- times -----------------------------------------------------------------------------------

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})",
                      re.ASCII)


def parse_rfc3339_ns(value: str) -> int:
    """Unix nanoseconds of an RFC 3339 timestamp such as a log entry's "time"."""
    match = _RFC3339.fullmatch(value)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or "")[:9].ljust(9, "0")
    seconds = calendar.timegm((year, month, day, hour, minute, second)) - _offset(match.group(8))
    return seconds * 1_000_000_000 + int(fraction)


def _offset(zone: str) -> int:
    if zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    return sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)


def format_timestamp(entry: LogEntry) -> str:
    """The time ``docker logs -t`` prints before a line: UTC, always nine fractional digits
    (dockerd's RFC3339NanoFixed), e.g. 2026-11-28T19:20:00.123400000Z."""
    ns = parse_rfc3339_ns(entry.time)
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


# Go's time.ParseDuration: a sign, then one or more decimal numbers each with a unit.
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}
_DURATION_TERM = re.compile(r"(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)", re.ASCII)

# Timestamps as the docker CLI's --since/--until take them (GetTimestamp): a date, optionally a
# time to the hour, minute, second or fraction, optionally a zone; without a zone, local time.
_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})"
                        r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?"
                        r"(Z|[+-]\d{2}:\d{2})?", re.ASCII)


def parse_duration(value: str) -> float:
    """Seconds of a Go duration such as "10m", "1h30m", "1.5s" or "-2h"; ValueError otherwise."""
    text = value
    sign = 1.0
    if text[:1] in ("+", "-"):
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    total, position = 0.0, 0
    while position < len(text):
        term = _DURATION_TERM.match(text, position)
        if not term or term.group(1) in ("", "."):
            raise ValueError(f'time: invalid duration "{value}"')
        total += float(term.group(1)) * _DURATION_UNITS[term.group(2)]
        position = term.end()
    if not text:
        raise ValueError(f'time: invalid duration "{value}"')
    return sign * total


def parse_time(value: str, now: float) -> float:
    """Unix seconds of a ``since``/``until`` value as Docker accepts it.

    "1700000000" or "1700000000.5" (unix seconds, the form the docker CLI sends), RFC 3339 and
    shorter timestamps ("2026-11-28", "2026-11-28T19:20", "2026-11-28T19:20:00.5+01:00"; local
    time without a zone), and Go durations before ``now`` ("10m", "1h30m"; whole seconds, as
    the CLI computes them).
    """
    if value != "0":
        try:
            return float(math.floor(now - parse_duration(value)))
        except ValueError:
            pass
    match = _TIMESTAMP.fullmatch(value)
    if match:
        return _timestamp_seconds(match, value, now)
    if "-" in value:
        raise ValueError(f'parsing time "{value}": not a valid timestamp')
    seconds, _, fraction = value.partition(".")
    if not re.fullmatch(r"[0-9]+", seconds) or not re.fullmatch(r"[0-9]*", fraction):
        raise ValueError(f'failed to parse value as time or duration: "{value}"')
    return int(seconds) + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def _timestamp_seconds(match: re.Match, value: str, now: float) -> float:
    year, month, day = (int(g) for g in match.groups()[:3])
    hour, minute, second = (int(g or 0) for g in match.groups()[3:6])
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]
            and hour < 24 and minute < 60 and second < 60):
        raise ValueError(f'parsing time "{value}": value out of range')
    zone = match.group(8)
    offset = _offset(zone) if zone else _local_offset(now)
    seconds = calendar.timegm((year, month, day, hour, minute, second)) - offset
    fraction = match.group(7) or ""
    return seconds + (int(fraction[:9]) / 10 ** len(fraction[:9]) if fraction else 0.0)


def _local_offset(now: float) -> int:
    """The local zone's UTC offset in seconds at ``now`` (Go uses the reference time's zone)."""
    return time.localtime(now).tm_gmtoff
