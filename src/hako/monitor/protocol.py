"""What hakod and a monitor say to each other, and where the monitor keeps its files.

Every connection to the monitor's socket starts with one JSON line from hakod:

    {"op": "attach", "stdin": true, "stdout": true, "stderr": true}
        then the socket carries the process's output (Docker's 8-byte multiplexed frames, or raw
        pty bytes with a TTY) to hakod and raw stdin bytes to the monitor. hakod's
        shutdown(SHUT_WR) is stdin's EOF.
    {"op": "start"}                    → {"pid": N} or {"error": "…"}   (then the process runs)
    {"op": "abort", "reason": "…"}     → {"started": bool, "pid": N, "exit": {…} or null}
        a process not started yet never will be (its container is deleted, its exit recorded);
        one already started is left alone, and the reply says how it is doing
    {"op": "resize", "h": H, "w": W}   → {}
    {"op": "watch"}                    → {"exit": {…}} when the process has exited

The exit record, also written to ``exit.json``: {"code": N, "finished": unix time, "oom": bool,
"error": "…"}.
"""

from __future__ import annotations

import json
import os
import struct

STDOUT = 1
STDERR = 2


def socket_path(directory: str) -> str:
    return os.path.join(directory, "monitor.sock")


def exit_path(directory: str) -> str:
    return os.path.join(directory, "exit.json")


def frame(stream: int, data: bytes) -> bytes:
    """Docker's multiplexed stream frame: stream byte, three zero bytes, big-endian length."""
    return struct.pack(">BxxxI", stream, len(data)) + data


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def read_exit(directory: str) -> dict | None:
    try:
        with open(exit_path(directory)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_exit(directory: str, record: dict) -> None:
    """Atomically: a daemon reading it after a crash sees the whole record or none."""
    tmp = exit_path(directory) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, exit_path(directory))
