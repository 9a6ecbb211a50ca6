"""Showing the JSON message streams of pull, push, import and load, as docker's jsonmessage does.

Each line of the stream is an object such as::

    {"status": "Downloading", "id": "a1b2c3d4e5f6",
     "progressDetail": {"current": 32768, "total": 2152262}, "progress": "[>   ]  32.77kB/2.152MB"}
    {"stream": "Loaded image: busybox:latest\\n"}
    {"aux": {"Tag": "v1", "Digest": "sha256:…", "Size": 527}}
    {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"}

On a terminal every message with an id owns one line, redrawn in place: the cursor goes up to
it (ESC[nA), the line is cleared (ESC[2K), rewritten, and the cursor goes back down (ESC[nB);
the bar is drawn only when the terminal is wider than 110 columns. Elsewhere, progress updates
are left out and every other message is printed on its own line. This is a port of
DisplayJSONMessagesStream and JSONProgress.String from moby's pkg/jsonmessage; tests compare it
byte for byte with what docker 28 writes for the same stream.

An error message ends the display with `StreamFailed` (docker prints its text as it is, without
"Error response from daemon:").
"""

from __future__ import annotations

from hako.client import jsoncodec

from .units import human_size

# What docker assumes when the width of the output cannot be read.
DEFAULT_WIDTH = 200


class StreamFailed(Exception):
    """The stream carried an error message (or was not JSON); the text is the daemon's."""


def display_output(lines, out, on_aux=None) -> None:
    """`display_stream` on a `hako.cli.context.Output`: terminal or not, and the terminal's
    width read for each message (as docker's, so a resize during a pull is followed)."""
    if out.isatty():
        from .terminal import terminal_size

        def width() -> int:
            return terminal_size(out.fd)[1] or DEFAULT_WIDTH
        display_stream(lines, out, True, width, on_aux)
    else:
        display_stream(lines, out, False, DEFAULT_WIDTH, on_aux)


def display_stream(lines, out, is_terminal: bool, width=DEFAULT_WIDTH, on_aux=None) -> None:
    """Write the messages of ``lines`` (an iterable of JSON lines, bytes or str) to ``out``.
    ``width`` is the terminal's width or a function returning it; ``on_aux(aux)`` receives the
    ``aux`` objects, which are not printed."""
    ids: dict[str, int] = {}
    for raw in lines:
        msg = _decode(raw)
        if msg.get("aux") is not None:
            if on_aux is not None:
                on_aux(msg["aux"])
            continue
        ident = msg.get("id") or ""
        has_progress = msg.get("progressDetail") is not None
        diff = 0
        if ident and (has_progress or msg.get("progress")):
            line = ids.get(ident)
            if line is None:
                line = ids[ident] = len(ids)
                if is_terminal:
                    out.write("\n")
            diff = len(ids) - line
            if is_terminal:
                out.write(_cursor_up(diff))
        else:
            # Something that is not a progress line: forget the lines above, so that the next
            # operation's ids (pull -a, one tag after another) start below it.
            ids = {}
        text = format_message(msg, is_terminal, width() if callable(width) else width)
        if ident and is_terminal:
            text += _cursor_down(diff)
        out.write(text)


def _decode(raw) -> dict:
    try:
        msg = jsoncodec.loads(raw)
    except (ValueError, UnicodeDecodeError):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        raise StreamFailed(f"invalid JSON in the daemon's reply: {text[:80]!r}") from None
    if not isinstance(msg, dict):
        raise StreamFailed("invalid message in the daemon's reply: not a JSON object")
    error = msg.get("errorDetail")
    if isinstance(error, dict) and error:
        raise StreamFailed(str(error.get("message", "")))
    if msg.get("error"):
        # Docker only looks at errorDetail; a daemon that sends "error" alone still means it.
        raise StreamFailed(str(msg["error"]))
    return msg


def format_message(msg: dict, is_terminal: bool, width: int = DEFAULT_WIDTH) -> str:
    """One message as JSONMessage.Display writes it ("" for a progress update off a terminal)."""
    detail = msg.get("progressDetail")
    has_progress = detail is not None
    stream = msg.get("stream") or ""
    text = ""
    endl = ""
    if is_terminal and not stream and has_progress:
        text = "\x1b[2K\r"
        endl = "\r"
    elif has_progress and progress_string(detail, width):
        return ""  # no progress bars off a terminal
    text += _time_prefix(msg)
    if msg.get("id"):
        text += f"{msg['id']}: "
    if msg.get("from"):
        text += f"(from {msg['from']}) "
    status = msg.get("status") or ""
    if has_progress and is_terminal:
        text += f"{status} {progress_string(detail, width)}{endl}"
    elif msg.get("progress"):
        text += f"{status} {msg['progress']}{endl}"
    elif stream:
        text += f"{stream}{endl}"
    else:
        text += f"{status}{endl}\n"
    return text


def progress_string(detail, width: int = DEFAULT_WIDTH, now: float | None = None) -> str:
    """JSONProgress.String: ``[====>    ]  1.2MB/3.4MB 5s`` — the bar only when the output is
    wider than 110 columns, the time left only when the daemon sent a start time."""
    if not isinstance(detail, dict):
        return ""
    current = _int(detail.get("current"))
    total = _int(detail.get("total"))
    units = detail.get("units") or ""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return "%8s" % human_size(current, 4) if not units else f"{current} {units}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = ""
    if width > 110:
        bar = "[%s>%s] " % ("=" * percentage, " " * max(50 - percentage, 0))
    numbers = ""
    if detail.get("hidecounts"):
        pass
    elif not units:
        numbers = "%8s/%s" % (human_size(current, 4), human_size(total, 4))
        if current > total:  # docker drops the total when the count is wonky
            numbers = "%8s" % human_size(current, 4)
    else:
        numbers = f"{current}/{total} {units}" if current <= total else f"{current} {units}"
    time_left = ""
    start = _int(detail.get("start"))
    if current > 0 and start > 0 and percentage < 50:
        if now is None:
            import time
            now = time.time()
        left = (total - current) * (now - start) / current
        time_left = " " + go_duration(round(left))
    return bar + numbers + time_left


def go_duration(seconds: int) -> str:
    """Go's time.Duration.String for whole seconds: ``0s``, ``45s``, ``1m5s``, ``2h0m3s``."""
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _time_prefix(msg: dict) -> str:
    """Docker's RFC3339NanoFixed stamp, for messages that carry a time (events)."""
    nanos = _int(msg.get("timeNano"))
    if not nanos:
        seconds = _int(msg.get("time"))
        if not seconds:
            return ""
        nanos = seconds * 1_000_000_000
    import time
    local = time.localtime(nanos // 1_000_000_000)
    offset = local.tm_gmtoff or 0
    zone = "Z" if offset == 0 else "%s%02d:%02d" % ("-" if offset < 0 else "+",
                                                     abs(offset) // 3600, abs(offset) % 3600 // 60)
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + ".%09d%s " % (nanos % 1_000_000_000, zone)


def _cursor_up(lines: int) -> str:
    return f"\x1b[{lines}A" if lines else ""


def _cursor_down(lines: int) -> str:
    return f"\x1b[{lines}B" if lines else ""


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
