"""`--since`/`--until` values, turned into what the API takes (docker's timetypes.GetTimestamp).

    "10m"                    -> Unix seconds ten minutes ago ("1700000000")
    "2024-05-01T10:00:00Z"   -> "1714557600.000000000"
    "1714557600.5"           -> passed through
"""

from __future__ import annotations

import time

from .units import parse_go_duration


def get_timestamp(value: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    if value != "0":
        try:
            return str(int(now - parse_go_duration(value) / 1e9))
        except ValueError:
            pass
    if "-" in value[1:] or "T" in value:
        return _parse_date(value)
    if _is_unix(value):
        return value
    raise ValueError(f'failed to parse value as time or duration: "{value}"')


def _parse_date(value: str) -> str:
    from datetime import datetime
    text = value.replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f'parsing time "{value}": {exc}') from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # docker reads zone-less times in the local zone
    seconds = parsed.timestamp()
    whole = int(seconds // 1)
    nanos = parsed.microsecond * 1000
    return f"{whole}.{nanos:09d}"


def _is_unix(value: str) -> bool:
    whole, _, frac = value.partition(".")
    return whole.lstrip("-").isdigit() and (not frac or frac.isdigit())


def since_until(opts: dict) -> dict[str, str]:
    """The `since` and `until` query values of the options that give them (logs, events);
    a bad value is docker's error, exit 1."""
    from .command import StatusError

    query = {}
    for key in ("since", "until"):
        if opts[key]:
            try:
                query[key] = get_timestamp(opts[key])
            except ValueError as exc:
                raise StatusError(1, str(exc)) from None
    return query
