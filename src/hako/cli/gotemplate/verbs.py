"""One printf argument formatted with its verb, as Go's fmt does (print.go, format.go).

    spec = Spec()
    spec.sharp = True
    format_arg(255, "x", spec) == "0xff"         # what "%#x" does with 255

`Spec` holds the directive's flags, width and precision (read by `printf`). Integers take
%d %b %o %O %x %X %c %q %U, floats %e %f %g %x %b, strings %s %q %x; %v prints any value as
Go does, %#v as Go source and %T names its Go type. A verb that does not fit the value is
reported in the output, as Go does: ``%!d(string=abc)``.
"""

from __future__ import annotations

from .literals import go_quote, go_quote_rune
from .printing import format_v, go_float_g, is_negative
from .values import go_type, sort_key


class Spec:
    """One verb's flags, width and precision. For %v, "+" and "#" mean something else in Go
    (field names, Go syntax) and are moved to plus_v and sharp_v."""

    __slots__ = ("minus", "plus", "sharp", "space", "zero", "plus_v", "sharp_v", "width",
                 "prec")

    def __init__(self, minus: bool = False, width: int | None = None):
        self.minus = minus
        self.plus = self.sharp = self.space = self.zero = self.plus_v = self.sharp_v = False
        self.width = width
        self.prec: int | None = None


def format_arg(value, verb: str, spec: Spec) -> str:
    if verb == "T":
        if value is None:
            return _pad_to("<nil>", spec)
        return _format_str(go_type(value), "s", spec)
    if spec.sharp_v and (value is None or isinstance(value, (str, list, tuple, dict))):
        if isinstance(value, str) and spec.prec is not None:
            value = value[:spec.prec]
        return _pad_to(_go_syntax(value), spec)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(format_arg(item, verb, spec) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{format_arg(k, verb, spec)}:{format_arg(value[k], verb, spec)}"
                                 for k in sorted(value, key=sort_key)) + "]"
    if value is None:
        return _pad_to("<nil>", spec) if verb == "v" else _bad_verb(value, verb, spec)
    if isinstance(value, bool):
        if verb in "vt":
            return _pad_to("true" if value else "false", spec)
        return _bad_verb(value, verb, spec)
    if isinstance(value, int):
        return _format_int(value, verb, spec)
    if isinstance(value, float):
        return _format_float(value, verb, spec)
    if isinstance(value, str):
        return _format_str(value, verb, spec)
    if verb in "vs":
        return _pad_to(str(value), spec)
    return _bad_verb(value, verb, spec)


def _bad_verb(value, verb: str, spec: Spec) -> str:
    """Go's note for a verb that does not fit the value: %!d(string=abc). The value inside
    is printed with %v and the verb's own flags, as Go does."""
    if value is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(value)}={format_arg(value, 'v', spec)})"


def _pad_to(text: str, spec: Spec, numeric: bool = False) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero:
        if numeric and text[:1] in "+- ":
            return text[0] + "0" * fill + text[1:]
        return "0" * fill + text
    return " " * fill + text


def _go_syntax(value, nested: bool = False) -> str:
    """%#v: the value as Go source."""
    if value is None:
        return "interface {}(nil)" if nested else "<nil>"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, (list, tuple)):
        return "[]interface {}{" + ", ".join(_go_syntax(v, True) for v in value) + "}"
    if isinstance(value, dict):
        items = ", ".join(f"{_go_syntax(k, True)}:{_go_syntax(value[k], True)}"
                          for k in sorted(value, key=sort_key))
        return "map[string]interface {}{" + items + "}"
    return format_v(value)


def _sign(negative: bool, spec: Spec) -> str:
    if negative:
        return "-"
    return "+" if spec.plus else " " if spec.space else ""


def _format_int(value: int, verb: str, spec: Spec) -> str:
    if verb == "c":
        return _pad_to(chr(value) if 0 <= value <= 0x10FFFF else "\ufffd", spec)
    if verb == "q":
        return _pad_to(go_quote_rune(value, ascii_only=spec.plus), spec)
    if verb == "U":
        code = value & (1 << 64) - 1  # Go formats %U of a negative int as its uint64
        text = f"U+{code:0{max(4, spec.prec or 0)}X}"
        if spec.sharp and code <= 0x10FFFF and chr(code).isprintable():
            text += f" '{chr(code)}'"
        return _pad_to(text, Spec(minus=spec.minus, width=spec.width))
    if verb in "eEfFgG":
        return _bad_verb(value, verb, spec)
    base = {"d": 10, "v": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}.get(verb)
    if base is None:
        return _bad_verb(value, verb, spec)
    magnitude = abs(value)
    plain = Spec(minus=spec.minus, width=spec.width)  # zeros are placed below, not by padding
    # Go's fmtInteger: a precision is a minimum digit count; without one, the "0" flag
    # asks for zeros up to the width (less a sign), and a prefix like 0x comes on top.
    if spec.prec is not None:
        if spec.prec == 0 and magnitude == 0:
            return _pad_to("", plain)
        min_digits = spec.prec
    elif spec.zero and spec.width is not None:
        min_digits = spec.width - (1 if value < 0 or spec.plus or spec.space else 0)
    else:
        min_digits = 0
    digits = {2: "{:b}", 8: "{:o}", 10: "{:d}", 16: "{:x}"}[base].format(magnitude)
    if verb == "X":
        digits = digits.upper()
    digits = digits.rjust(min_digits, "0")
    prefix = ""
    if verb == "O":
        prefix = "0o"
    elif spec.sharp:
        prefix = {"b": "0b", "x": "0x", "X": "0X"}.get(verb, "")
        if verb == "o" and not digits.startswith("0"):
            prefix = "0"
    return _pad_to(_sign(value < 0, spec) + prefix + digits, plain)


def _format_float(value: float, verb: str, spec: Spec) -> str:
    if verb not in "vgGeEfFxXb":
        return _bad_verb(value, verb, spec)
    negative = is_negative(value)
    if value != value or value in (float("inf"), float("-inf")):
        text = "NaN" if value != value else ("-Inf" if negative else "+Inf")
        if text != "NaN" and not negative:
            text = text if spec.plus else ("Inf" if not spec.space else " Inf")
        return _pad_to(text, Spec(minus=spec.minus, width=spec.width))
    magnitude = abs(value)
    if verb == "b":
        text = _go_float_binary(magnitude)
    elif verb in "xX":
        text = _go_float_hex(magnitude, spec.prec)
        if verb == "X":
            text = text.upper()
    elif verb in "vgG":
        text = go_float_g(magnitude) if spec.prec is None else "%.*g" % (spec.prec or 1,
                                                                         magnitude)
        if verb == "G":
            text = text.upper()
    else:
        text = ("%.*" + verb) % (6 if spec.prec is None else spec.prec, magnitude)
    if spec.sharp and verb != "b":
        digits = 0
        if verb in "vgGx":
            digits = 6 if spec.prec is None else spec.prec
        text = _go_sharp_float(text, digits, hex_digits=verb in "xX")
    return _pad_to(_sign(negative, spec) + text, spec, numeric=True)


def _go_sharp_float(text: str, digits: int, hex_digits: bool) -> str:
    """The "#" flag on a float: always a decimal point, and for %g/%v/%x trailing zeros up
    to ``digits`` significant digits (Go's fmtFloat post-processing)."""
    tail = ""
    has_point = False
    seen_nonzero = False
    for i, ch in enumerate(text):
        if ch == ".":
            has_point = True
        elif ch in "pP" or (ch in "eE" and not hex_digits):
            text, tail = text[:i], text[i:]
            break
        else:  # Go counts the "x" of 0x as a significant digit too
            seen_nonzero = seen_nonzero or ch != "0"
            if seen_nonzero:
                digits -= 1
    if not has_point:
        if text == "0":
            digits -= 1
        text += "."
    return text + "0" * max(digits, 0) + tail


def _go_float_hex(magnitude: float, prec: int | None) -> str:
    """%x of a float: 3.5 -> 0x1.cp+01; a precision rounds the mantissa to that many hex
    digits (half to even), as Go's fmtX does."""
    mantissa, _, exponent = magnitude.hex().partition("p")
    lead, _, fraction = mantissa[2:].partition(".")
    exp = int(exponent)
    if magnitude == 0:
        fraction = ""
    if prec is None:
        fraction = fraction.rstrip("0")
    elif prec < len(fraction):
        shift = 4 * (len(fraction) - prec)
        bits, rest = divmod(int(fraction, 16), 1 << shift)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and bits & 1):
            bits += 1
        if bits >> (4 * prec):  # 1.fff… rounded up to 2.0
            bits, exp = 0, exp + 1
        fraction = f"{bits:0{prec}x}" if prec else ""
    else:
        fraction = fraction.ljust(prec, "0")
    point = "." + fraction if fraction else ""
    return f"0x{lead}{point}p{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _go_float_binary(magnitude: float) -> str:
    """%b of a float: the integer mantissa and the binary exponent, 7074231776675438p-51."""
    if magnitude == 0:
        return "0p-1074"
    numerator, denominator = magnitude.as_integer_ratio()
    exp = -(denominator.bit_length() - 1)
    # Scale to Go's 53-bit mantissa.
    while numerator < (1 << 52) and exp > -1074:
        numerator, exp = numerator << 1, exp - 1
    while numerator >= (1 << 53):
        numerator, exp = numerator >> 1, exp + 1
    return f"{numerator}p{'-' if exp < 0 else '+'}{abs(exp)}"


def _format_str(value: str, verb: str, spec: Spec) -> str:
    if verb in "vs":
        text = value if spec.prec is None else value[:spec.prec]
        return _pad_to(text, spec)
    if verb == "q":
        text = value if spec.prec is None else value[:spec.prec]
        if spec.sharp and "`" not in text and all(c == "\t" or c.isprintable() for c in text):
            return _pad_to("`" + text + "`", spec)
        return _pad_to(go_quote(text, ascii_only=spec.plus), spec)
    if verb in "xX":
        data = value.encode("utf-8", "surrogatepass")
        if spec.prec is not None:
            data = data[:spec.prec]
        hexed = ["%02x" % b for b in data]
        if spec.sharp:
            hexed = ["0x" + h for h in hexed] if spec.space else (["0x" + "".join(hexed)]
                                                                 if hexed else [])
        text = (" " if spec.space else "").join(hexed)
        return _pad_to(text.upper() if verb == "X" else text, spec)
    return _bad_verb(value, verb, spec)
