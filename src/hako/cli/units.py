"""Sizes, durations and times written (and read) the way docker writes them (go-units).

    human_size(4264000)            -> "4.26MB"   (decimal units, 3 significant digits)
    bytes_size(1515520)            -> "1.445MiB" (binary units, 4 digits; `stats`)
    human_duration(75)             -> "About a minute"
    ram_in_bytes("512m")           -> 536870912
"""

from __future__ import annotations

import time

from ..humanize import human_duration  # noqa: F401 - part of this module's vocabulary

DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _scaled(size: float, base: float, units) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: ``%.{precision}g`` of the size in powers of 1000."""
    value, unit = _scaled(float(size), 1000.0, DECIMAL_UNITS)
    return "%.*g%s" % (precision, value, unit)


def bytes_size(size: float) -> str:
    """go-units BytesSize: ``%.4g`` in powers of 1024 (KiB, MiB ...)."""
    value, unit = _scaled(float(size), 1024.0, BINARY_UNITS)
    return "%.4g%s" % (value, unit)



def time_ago(unix_seconds: float, now: float | None = None) -> str:
    """"3 minutes ago" for a creation time."""
    now = time.time() if now is None else now
    return human_duration(now - unix_seconds) + " ago"


def go_time_string(unix_seconds: float) -> str:
    """Go's time.Time.String() for a Unix time in the local zone:
    ``2024-05-01 10:00:00 +0200 CEST``."""
    local = time.localtime(unix_seconds)
    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", local)


def go_rfc3339(unix_seconds: float) -> str:
    """Go's time.RFC3339 for a Unix time in the local zone: ``2024-05-01T10:00:00+02:00``,
    with ``Z`` for a zero offset."""
    local = time.localtime(unix_seconds)
    offset = local.tm_gmtoff or 0
    if offset == 0:
        zone = "Z"
    else:
        sign = "-" if offset < 0 else "+"
        hours, minutes = divmod(abs(offset) // 60, 60)
        zone = f"{sign}{hours:02d}:{minutes:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + zone


# -- parsing --------------------------------------------------------------------------------

_RAM_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: ``512m``, ``1g``, ``1.5GB``, ``100 kib`` -> bytes (binary multiples).
    The accepted shape is go-units' ``^(\\d+(\\.\\d+)*) ?([kmgtp])?i?b?$`` (any case);
    ValueError("invalid size: '…'") otherwise."""
    s, i = text, 0
    while i < len(s) and s[i].isdigit():
        i += 1
    if i == 0:
        raise ValueError(f"invalid size: '{text}'")
    while i < len(s) - 1 and s[i] == "." and s[i + 1].isdigit():
        i += 1
        while i < len(s) and s[i].isdigit():
            i += 1
    number, rest = s[:i], s[i:].lower()
    if rest.startswith(" "):
        rest = rest[1:]
    unit = rest[:1] if rest[:1] in ("k", "m", "g", "t", "p") else ""
    rest = rest[len(unit):]
    if rest.startswith("i"):
        rest = rest[1:]
    if rest.startswith("b"):
        rest = rest[1:]
    if rest or not number.isascii():
        raise ValueError(f"invalid size: '{text}'")
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"invalid size: '{text}'") from None
    return int(value * _RAM_UNITS[unit])


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> int:
    """Go's time.ParseDuration (``1m30s``, ``500ms``, ``0``) -> nanoseconds."""
    s = text
    if s in ("0", "+0", "-0"):
        return 0
    sign = 1
    if s[:1] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0.0
    while s:
        i = 0
        while i < len(s) and (s[i].isdigit() or s[i] == "."):
            i += 1
        if i == 0:
            raise ValueError(f'time: invalid duration "{text}"')
        number = s[:i]
        s = s[i:]
        j = 0
        while j < len(s) and not (s[j].isdigit() or s[j] == "."):
            j += 1
        unit = s[:j]
        s = s[j:]
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _DURATION_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        try:
            total += float(number) * _DURATION_UNITS[unit]
        except ValueError:
            raise ValueError(f'time: invalid duration "{text}"') from None
    return sign * int(round(total * 1e9))


def format_go_duration(nanos: int) -> str:
    """Go's Duration.String() for whole and fractional seconds (``1m30s``, ``500ms``, ``0s``)."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if n >= size:
                return sign + _trim(n / size) + unit
    hours, rem = divmod(n, 3600 * 10**9)
    minutes, rem = divmod(rem, 60 * 10**9)
    out = sign
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + _trim(rem / 1e9) + "s"


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"
