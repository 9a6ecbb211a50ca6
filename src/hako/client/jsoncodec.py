"""JSON encode/decode through CPython's C accelerator, without importing `json`.

Why: `import json` pulls in `re` and `enum` and costs about 8 ms, a third of the CLI's whole
start-up on the `run` path. The parsing and encoding themselves live in the C module `_json`,
which `json` only wraps; driving it directly gives the same results for the cost of a dlopen.
If `_json` is missing (another interpreter), we fall back to `json`.
"""

from __future__ import annotations

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None


class _ScanContext:
    # The attributes c_make_scanner reads from a JSONDecoder; these are json.loads's defaults.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # "NaN", "Infinity", "-Infinity" -> float, as json does
    memo: dict = {}


_WHITESPACE = " \t\n\r"

if _json is not None:
    _scan = _json.make_scanner(_ScanContext)
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys,
    #  allow_nan): compact output like Go's json.Marshal; no cycle detection needed for our data.
    _encode = _json.make_encoder(None, None, _json.encode_basestring_ascii, None, ":", ",",
                                 False, False, True)
    _encode_utf8 = _json.make_encoder(None, None, _json.encode_basestring, None, ":", ",",
                                      False, False, True)


def loads(text: str | bytes):
    """Decode one JSON document (surrounding whitespace allowed); ValueError when malformed."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    if _json is None:  # pragma: no cover
        import json
        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        raise ValueError(f"invalid JSON at offset {start}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"extra data after JSON value at offset {end}")
    return value


def dumps(value, ascii: bool = True) -> str:
    """Encode compactly (no spaces), keys in insertion order; non-ASCII characters escaped
    unless ``ascii`` is False (then written as they are, like Go's encoder)."""
    if _json is None:  # pragma: no cover
        import json
        return json.dumps(value, separators=(",", ":"), ensure_ascii=ascii)
    return "".join((_encode if ascii else _encode_utf8)(value, 0))
