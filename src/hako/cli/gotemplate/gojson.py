r"""JSON as Go's encoding/json writes it, for docker's ``json`` template function.

    go_json({"b": 1.0, "a": "<x>"}) == '{"b":1,"a":"<x>"}'

Compact, keys in the order given (the API's order), numbers as Go writes float64s (``1e+21``,
``1e-7``), and a row object (one with ``as_dict()``) as its JSON form.

Which characters are escaped depends on who encodes. docker's ``json`` function turns the
encoder's HTML escaping off, so ``<`` stays ``<`` in inspect data. But a list row (ps, images …)
has its own MarshalJSON, which calls json.Marshal, HTML escaping on; the encoder then copies
those bytes as they are. So ``{{json .}}`` on a row writes ``"\u003cnone\u003e"`` while
``{{json .Digest}}`` on the same row writes ``"<none>"``.
"""

from __future__ import annotations

from .printing import float_digits, go_float_e, go_float_f, is_negative
from .values import MISSING


def go_json(value) -> str:
    """JSON as docker's ``json`` template function writes it: Go's encoder, compact, with
    SetEscapeHTML(false) (so ``<>&`` stay as they are; U+2028/U+2029 are still escaped), map
    keys in the order given (the API's), numbers as Go writes float64s."""
    out: list[str] = []
    _json_into(value, out, False)
    return "".join(out)


def _json_into(value, out: list[str], escape_html: bool):
    if value is None or value is MISSING:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_json_float(value))
    elif isinstance(value, str):
        out.append(_json_string(value, escape_html))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _json_into(item, out, escape_html)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_json_string(str(key), escape_html))
            out.append(":")
            _json_into(item, out, escape_html)
        out.append("}")
    elif callable(getattr(value, "as_dict", None)):
        _json_into(value.as_dict(), out, True)  # a row's MarshalJSON: json.Marshal escapes
    else:
        out.append(_json_string(str(value), escape_html))


def _json_string(text: str, escape_html: bool) -> str:
    import json
    encoded = json.dumps(text, ensure_ascii=False)
    # Go escapes U+2028 and U+2029 always (JavaScript line terminators), <, > and & only
    # with HTML escaping on.
    encoded = encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if escape_html:
        encoded = (encoded.replace("<", "\\u003c").replace(">", "\\u003e")
                   .replace("&", "\\u0026"))
    return encoded


def _json_float(value: float) -> str:
    """encoding/json's float64: shortest digits, exponent form below 1e-6 and from 1e21,
    with a one-digit negative exponent ("1e-7")."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"  # Go refuses these; null is the closest a template can show
    digits, point = float_digits(value)
    negative = is_negative(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = go_float_e(digits, point, negative)
        mantissa, _, exp = text.partition("e")
        sign, number = exp[0], exp[1:].lstrip("0") or "0"
        return f"{mantissa}e{sign}{number}"
    return go_float_f(digits, point, negative)
