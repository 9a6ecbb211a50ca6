"""The detach key sequence (default Ctrl-P Ctrl-Q), matched in what the user types.

Docker spots the sequence on the client for TTY sessions and never sends it to the daemon. Its
matcher (moby/term's escape proxy) works on reads of exactly one byte, which is what a terminal in
raw mode delivers for typed keys; a longer read (a paste) is passed through unexamined, and bytes
held back as a possible start of the sequence are released in front of it. `EscapeMatcher`
reproduces that behaviour read for read::

    m = EscapeMatcher(parse_detach_keys("ctrl-p,ctrl-q"))
    m.feed(b"\\x10")   # -> b""   (held: could be the start)
    m.feed(b"a")      # -> b"\\x10a"   (not the sequence: both go through)
    m.feed(b"\\x10"); m.feed(b"\\x11")   # -> raises Detached
"""

from __future__ import annotations

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"

# moby/term's ASCII table: index = control code.
_CTRL_NAMES = (["ctrl-@"] + [f"ctrl-{chr(c)}" for c in range(ord("a"), ord("z") + 1)]
               + ["ctrl-[", "ctrl-\\", "ctrl-]", "ctrl-^", "ctrl-_"])


class Detached(Exception):
    """The user typed the detach sequence. Its text is docker's."""

    def __init__(self) -> None:
        super().__init__("read escape sequence")


def parse_detach_keys(spec: str) -> bytes:
    """``"ctrl-p,ctrl-q"`` -> ``b"\\x10\\x11"``; a key is one character or ``ctrl-<c>``.
    ValueError with moby/term's wording otherwise."""
    codes = bytearray()
    for key in spec.split(","):
        if len(key) == 1:
            codes += key.encode("latin-1", "replace")[:1]
            continue
        if len(key) != 6:
            raise ValueError(f"Unknown character: '{key}'")
        lowered = key.lower()
        if lowered in _CTRL_NAMES:
            codes.append(_CTRL_NAMES.index(lowered))
            continue
        if "ctrl-" not in lowered:
            raise ValueError(f"Unknown character: '{key}'")
        raise ValueError(f"Unknown sequence: '{key}'")
    return bytes(codes)


class EscapeMatcher:
    """Filters the bytes of successive reads, holding back a possible detach sequence."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.pos = 0  # how many bytes of the sequence were matched by earlier reads

    def feed(self, data: bytes) -> bytes:
        """The bytes to forward for this read; raises `Detached` when the sequence completes.

        As moby/term, keystrokes are single-byte reads and a longer read (a paste) goes through
        as is; but a read holding exactly the rest of the sequence also detaches, because a
        terminal multiplexer or a slow reader can deliver two quick keystrokes in one read."""
        keys = self.keys
        if not keys:
            return data
        if len(data) > 1 and data == keys[self.pos:]:
            self.pos = 0
            raise Detached()
        if len(data) != 1:
            return self._release(data)
        if data[0] != keys[self.pos]:
            return self._release(data)
        if self.pos == len(keys) - 1:
            self.pos = 0
            raise Detached()
        self.pos += 1
        return b""

    def _release(self, data: bytes) -> bytes:
        held, self.pos = self.keys[:self.pos], 0
        return held + data
