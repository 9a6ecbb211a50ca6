"""Value types of container flags: each turns the flag's text into what the API wants, or raises
ValueError with docker's reason (shown as ``invalid argument "…" for "…" flag: <reason>``)."""

from __future__ import annotations

from .flags import Kind
from .units import parse_go_duration, ram_in_bytes

ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
                "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")
ATTACH_STREAMS = ("stdin", "stdout", "stderr")


def memory_bytes(text: str) -> int:
    return ram_in_bytes(text)


def memory_swap_bytes(text: str) -> int:
    """``-1`` means unlimited swap; anything else is a size (docker's MemSwapBytes)."""
    return -1 if text == "-1" else ram_in_bytes(text)


def nano_cpus(text: str) -> int:
    """docker's ParseCPUs: a rational number of CPUs, exact to the nanosecond."""
    from fractions import Fraction  # only when --cpus is given: fractions is slow to import
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {text} as a rational number") from None
    nano = value * 1_000_000_000
    if nano.denominator != 1:
        raise ValueError("value is too precise")
    return int(nano)


def ulimit(text: str) -> dict:
    """go-units ParseUlimit: ``name=soft[:hard]`` -> ``{"Name", "Hard", "Soft"}``."""
    name, sep, limits = text.partition("=")
    if not sep:
        raise ValueError(f"invalid ulimit argument: {text}")
    if name not in ULIMIT_NAMES:
        raise ValueError(f"invalid ulimit type: {name}")
    soft_text, has_hard, hard_text = limits.partition(":")
    if has_hard and ":" in hard_text:
        raise ValueError(f"too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`")
    soft = _go_int(soft_text)
    hard = _go_int(hard_text) if has_hard else soft
    if soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def _go_int(text: str) -> int:
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit() or not body.isascii():
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    return int(text)


def attach_stream(text: str) -> str:
    if text.lower() not in ATTACH_STREAMS:
        raise ValueError("valid streams are STDIN, STDOUT and STDERR")
    return text.lower()


def env_entry(text: str) -> str:
    """docker's ValidateEnv: ``K=V`` as is; ``K`` alone stays ``K`` (resolved later)."""
    key = text.split("=", 1)[0]
    if not key:
        raise ValueError(f"invalid environment variable: {text}")
    return text


def duration_ns(text: str) -> int:
    return parse_go_duration(text)


def uint16(text: str) -> int:
    from .flags import parse_int
    value = parse_int(text)
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return value


BYTES = Kind("bytes", memory_bytes, default=0)
MEMSWAP = Kind("bytes", memory_swap_bytes, default=0)
DECIMAL = Kind("decimal", nano_cpus, default=0)
ULIMIT = Kind("ulimit", ulimit, repeat=True)
ATTACH = Kind("list", attach_stream, repeat=True)
ENV = Kind("list", env_entry, repeat=True)
DURATION = Kind("duration", duration_ns, default=0)
UINT16 = Kind("uint16", uint16, default=0)
