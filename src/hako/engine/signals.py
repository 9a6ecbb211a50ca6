"""Signal names and numbers as Docker's API takes them."""

from __future__ import annotations

import signal

from ..errdefs import InvalidArgument


def signal_number(sig: str | int) -> int:
    """A signal as Docker accepts it: "SIGTERM", "term", "15"; InvalidArgument otherwise."""
    if isinstance(sig, int):
        return sig
    text = str(sig).strip().upper()
    if text.isdigit():
        number = int(text)
        if not 0 < number < 65:
            raise InvalidArgument(f"Invalid signal: {sig}")
        return number
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(signal.Signals[text])
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {sig}") from None
