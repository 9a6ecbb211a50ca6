"""Re-indent raw JSON text without decoding it, like Go's json.Indent.

docker's `inspect` prints the daemon's JSON bytes re-indented with four spaces, so numbers,
escapes and key order stay exactly as the daemon sent them; decoding and re-encoding would
change some of them (``1e+06``, ``\\u003c``). Empty objects and arrays stay ``{}`` and ``[]``::

    indent('[{"a":[],"b":{"c":1}}]') ==
    '[\\n    {\\n        "a": [],\\n        "b": {\\n            "c": 1\\n        }\\n    }\\n]'
"""

from __future__ import annotations


def indent(text: str, unit: str = "    ") -> str:
    out: list[str] = []
    depth = 0
    i, n = 0, len(text)
    need_indent = False  # an opening bracket was written; its first element needs a newline
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if need_indent and ch not in "]}":
            out.append("\n" + unit * depth)
        need_indent = False
        if ch == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
            continue
        if ch in "[{":
            depth += 1
            out.append(ch)
            need_indent = True
        elif ch in "]}":
            depth -= 1
            if out and out[-1] in "[{":
                out.append(ch)  # empty: stays compact
            else:
                out.append("\n" + unit * depth + ch)
        elif ch == ",":
            out.append(",\n" + unit * depth)
        elif ch == ":":
            out.append(": ")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return len(text)
