"""Showing the JSON message streams of pull, push, import and load (docker's jsonmessage).

Each line of the stream is an object such as ``{"status": "Downloading", "id": "abc",
"progressDetail": {"current": 1, "total": 9}}``, ``{"stream": "text"}``, ``{"aux": {...}}`` or
``{"error": "…", "errorDetail": {"message": "…"}}``. On a terminal, lines with an id are updated
in place (cursor up, clear line, redraw); elsewhere, progress updates are left out and every other
message is printed on its own line — both as docker prints them.
"""

from __future__ import annotations

from hako.client import jsoncodec

from .units import human_size


class StreamFailed(Exception):
    """The stream carried an error message; its text is the daemon's."""


def display_stream(lines, out, is_terminal: bool, width: int = 0, on_aux=None) -> None:
    """Write the messages of ``lines`` (an iterable of JSON lines) to ``out``."""
    ids: dict[str, int] = {}
    for raw in lines:
        try:
            msg = jsoncodec.loads(raw)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        if msg.get("aux") is not None:
            if on_aux is not None:
                on_aux(msg["aux"])
            continue
        error = msg.get("errorDetail") or ({"message": msg["error"]} if msg.get("error") else None)
        if error:
            raise StreamFailed(error.get("message", ""))
        ident = msg.get("id", "")
        progress = msg.get("progressDetail")
        diff = 0
        if ident and (progress is not None or msg.get("progress")):
            if ident not in ids:
                ids[ident] = len(ids)
                if is_terminal:
                    out.write("\n")
            diff = len(ids) - ids[ident]
            if is_terminal:
                out.write(f"\x1b[{diff}A")
        else:
            ids = {}
        out.write(format_message(msg, is_terminal, width))
        if ident and is_terminal and diff:
            out.write(f"\x1b[{diff}B")


def format_message(msg: dict, is_terminal: bool, width: int = 0) -> str:
    """One message as jsonmessage.Display writes it ("" for a skipped progress update)."""
    progress = progress_bar(msg.get("progressDetail"), width)
    text = ""
    endl = ""
    if is_terminal and not msg.get("stream") and msg.get("progressDetail") is not None:
        text += "\x1b[2K\r"
        endl = "\r"
    elif progress:
        return ""  # no progress bars off a terminal
    if msg.get("id"):
        text += f"{msg['id']}: "
    if msg.get("from"):
        text += f"(from {msg['from']}) "
    status = msg.get("status", "")
    if msg.get("progressDetail") is not None and is_terminal:
        text += f"{status} {progress}{endl}"
    elif msg.get("stream"):
        text += f"{msg['stream']}{endl}"
    else:
        text += f"{status}{endl}\n"
    return text


def progress_bar(detail, width: int) -> str:
    """jsonmessage's JSONProgress.String: ``[==>   ]  1.2MB/3.4MB`` (bar only when wide)."""
    if not detail:
        return ""
    current, total = detail.get("current", 0) or 0, detail.get("total", 0) or 0
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return "%8s" % human_size(current, 4)
    percentage = min(int(current / total * 100) // 2, 50)
    bar = ""
    if width > 110:
        bar = "[%s>%s] " % ("=" * percentage, " " * max(50 - percentage, 0))
    numbers = "%8s/%s" % (human_size(current, 4), human_size(total, 4))
    if current > total:
        numbers = "%8s" % human_size(current, 4)
    return bar + numbers
