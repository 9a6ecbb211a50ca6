"""Signal names as runc and docker accept them: "TERM", "SIGTERM", "15"."""

from __future__ import annotations

import signal

from .errors import ConfigError


def parse_signal(value: str | int) -> int:
    if isinstance(value, int) or str(value).isdigit():
        number = int(value)
        if not 0 < number < signal.NSIG:
            raise ConfigError(f"invalid signal: {value}")
        return number
    name = str(value).upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(getattr(signal.Signals, name))
    except AttributeError:
        if name.startswith("SIGRTMIN+") and name[9:].isdigit():
            return signal.SIGRTMIN + int(name[9:])
        raise ConfigError(f"invalid signal: {value}") from None
