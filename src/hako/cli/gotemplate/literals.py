r"""Go's literal syntax (strconv): quoting strings for messages and %q, reading the string,
character and number literals a template contains.

    go_quote('a"b\n') == '"a\\"b\\n"'
    unquote_go(r'\x41\u00e9', '"') == "Aé"
    parse_go_number("0x1F") == 31;  parse_go_number("1e3") == 1000.0
"""

from __future__ import annotations

from ..gofmt import go_quote  # noqa: F401 - strconv.Quote lives with the CLI's other Go formatting


def go_quote_rune(code: int, ascii_only: bool = False) -> str:
    if not 0 <= code <= 0x10FFFF or 0xD800 <= code < 0xE000:
        code = 0xFFFD
    ch = chr(code)
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + go_quote(ch, ascii_only)[1:-1] + "'"


def go_rune(ch: str) -> str:
    """Go's %#U: U+0021 '!'."""
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


def unquote_go(body: str, quote: str) -> str:
    """The value of a Go string or rune literal's body (strconv.Unquote without the quotes).
    Raises ValueError on a bad escape or an unescaped quote."""
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == quote:
            raise ValueError("unescaped quote")
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
            continue
        esc = body[i + 1: i + 2]
        i += 2
        if esc in _SIMPLE_UNESCAPES:
            out += _SIMPLE_UNESCAPES[esc].encode()
        elif esc == quote:
            out += esc.encode()
        elif esc in ("x", "u", "U"):
            size = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i: i + size]
            if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("bad escape")
            code = int(digits, 16)
            i += size
            if esc == "x":
                out.append(code)
            elif code > 0x10FFFF or 0xD800 <= code < 0xE000:
                raise ValueError("bad escape")
            else:
                out += chr(code).encode()
        elif esc and esc in "01234567":
            digits = body[i - 1: i + 2]
            if len(digits) != 3 or not all(c in "01234567" for c in digits) \
                    or int(digits, 8) > 255:
                raise ValueError("bad escape")
            out.append(int(digits, 8))
            i += 2
        else:
            raise ValueError("bad escape")
    return out.decode("utf-8", "replace")


_SIMPLE_UNESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                     "v": "\v", "\\": "\\"}


def parse_go_number(text: str) -> int | float:
    """A Go number literal as Go's parser reads it: an int when it parses as one (decimal,
    0x, 0o, 0b or leading-0 octal), else a float; ValueError with Go's message otherwise."""
    if not text.endswith("i"):  # complex numbers: no docker template uses them
        value = _go_int(text)
        if value is not None:
            return value
        value = _go_float(text)
        if value is not None:
            if not any(c in text for c in ".eEpP"):
                # Go: "it looks like an integer but only parses as a float" ("09", 1e30 digits)
                raise ValueError(f"integer overflow: {go_quote(text)}")
            return value
    raise ValueError(f"illegal number syntax: {go_quote(text)}")


def _go_int(text: str) -> int | None:
    body = text.lstrip("+-")
    if not body or "__" in body or body.endswith("_") or len(text) - len(body) > 1:
        return None
    lower = body.lower()
    try:
        if lower.startswith(("0x", "0o", "0b")):
            value = int(body, 0)
        elif len(body) > 1 and body[0] == "0":
            value = int(body.replace("_", ""), 8)
        else:
            value = int(body, 10)
    except ValueError:
        return None
    value = -value if text.startswith("-") else value
    if not -(1 << 63) <= value < (1 << 64):  # Go's int64 / uint64
        return None
    return value


def _go_float(text: str) -> float | None:
    body = text.lstrip("+-")
    if not body or "__" in body or body.endswith("_") or len(text) - len(body) > 1:
        return None
    try:
        if body.lower().startswith("0x"):
            if "p" not in body.lower():  # a hex float needs its binary exponent
                return None
            value = float.fromhex(body.replace("_", ""))
        else:
            value = float(body)
    except ValueError:
        return None
    if value == float("inf"):  # out of float64's range
        return None
    return -value if text.startswith("-") else value
