"""How Go prints a value: fmt's %v, which is what ``{{.X}}`` writes, and Go's float64 text.

    print_value({"b": [1, 2.5], "a": None}) == "map[a:<nil> b:[1 2.5]]"
    print_value(1e6) == "1e+06";  print_value(MISSING) == "<no value>"

Maps print in sorted key order; floats use the shortest digits that read back, switching to
an exponent below 1e-4 and from 1e+06, as strconv's %g does.
"""

from __future__ import annotations

from .values import MISSING, sort_key


def print_value(value) -> str:
    """A value as Go's template output prints it (fmt's %v; "no value" as <no value>)."""
    if value is MISSING:
        return "<no value>"
    return format_v(value)


def format_v(value) -> str:
    """fmt's %v: what Go prints for a value, with nil as <nil>."""
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float_g(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(format_v(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{format_v(k)}:{format_v(value[k])}"
                                 for k in sorted(value, key=sort_key)) + "]"
    if value is MISSING:
        return "<nil>"
    return str(value)


def sprint(args) -> str:
    """fmt.Sprint: a space between two operands when neither is a string."""
    out = []
    prev_string = False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i and not is_string and not prev_string:
            out.append(" ")
        out.append(format_v(arg))
        prev_string = is_string
    return "".join(out)


def float_digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as abs(value), and the position of the
    decimal point: 1234.5 -> ("12345", 4), 0.001 -> ("1", -2). Python's repr is the same
    shortest round-trip algorithm Go's strconv uses with precision -1."""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:
        return "0", 1
    return digits, point


def go_float_e(digits: str, point: int, negative: bool) -> str:
    exp = point - 1 if digits != "0" else 0
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return ("-" if negative else "") + f"{mantissa}e{sign}{abs(exp):02d}"


def go_float_f(digits: str, point: int, negative: bool) -> str:
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    return ("-" if negative else "") + text


def is_negative(value: float) -> bool:
    return value < 0 or (value == 0 and str(value).startswith("-"))


def go_float_g(value: float) -> str:
    """Go's %v (shortest %g) for a float64: 1e+06, 123456, 1.5, 1e-05."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    digits, point = float_digits(value)
    negative = is_negative(value)
    exp = point - 1
    # Shortest %g switches to an exponent below 1e-4 and from 1e+06 (strconv: "if precision
    # was the shortest possible, use precision 6 for this decision").
    if digits != "0" and (exp < -4 or exp >= 6):
        return go_float_e(digits, point, negative)
    return go_float_f(digits, point, negative)
