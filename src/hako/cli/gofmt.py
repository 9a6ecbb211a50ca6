"""Small pieces of Go formatting that docker's output shows: strconv.Quote, json.Marshal's
escaping, and short ids."""

from __future__ import annotations

from hako.client import jsoncodec


def go_quote(text: str, ascii_only: bool = False) -> str:
    """Go's strconv.Quote (or QuoteToASCII, which escapes all non-ASCII): double quotes, ``\\"``
    ``\\\\`` escaped, control characters as ``\\n``/``\\t``/``\\x01``/``\\u0085``."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append("\\x%02x" % code)
        elif code < 0x80 or (ch.isprintable() and not ascii_only):
            out.append(ch)
        elif code < 0x10000:
            out.append("\\u%04x" % code)
        else:
            out.append("\\U%08x" % code)
    out.append('"')
    return "".join(out)


_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                   "\v": "\\v"}


def go_json(value) -> str:
    """Compact JSON as Go's json.Marshal writes it: ``<``, ``>`` and ``&`` escaped as \\u003c …
    (the only places they can occur are strings, so replacing after encoding is safe), as are
    U+2028 and U+2029; other non-ASCII characters are written as UTF-8."""
    text = jsoncodec.dumps(value, ascii=False)
    for raw, escaped in _GO_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


_GO_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
               ("\u2029", "\\u2029"))


def truncate_id(ident: str) -> str:
    """docker's stringid.TruncateID: drop an ``algo:`` prefix, keep 12 characters."""
    if ":" in ident:
        ident = ident.split(":", 1)[1]
    return ident[:12]
