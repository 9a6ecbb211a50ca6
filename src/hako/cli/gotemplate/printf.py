"""Go's fmt.Sprintf, for the ``printf`` template function: reading the format string.

This module walks the format, reading each directive's flags, width, precision and explicit
argument index (``%-8.3[2]f``), and hands each argument with its `Spec` to `verbs`, which
formats it. Go reports mistakes in the output rather than failing, and so does this::

    sprintf("%d|%s|%d", ["a"])    == "%!d(string=a)|%!s(MISSING)|%!d(MISSING)"
    sprintf("%d", [1, 2])         == "1%!(EXTRA int=2)"
"""

from __future__ import annotations

from .printing import format_v
from .values import go_type
from .verbs import Spec, format_arg


def sprintf(fmt: str, args) -> str:
    """fmt.Sprintf with Go's verbs, explicit argument indexes (%[2]d) and its in-band error
    notes (%!d(string=x), %!s(MISSING), %!(EXTRA …)), following Go's doPrintf."""
    out: list[str] = []
    state = _PrintfState(fmt, list(args))
    i, end = 0, len(fmt)
    while i < end:
        percent = fmt.find("%", i)
        if percent < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:percent])
        i = percent + 1
        spec = Spec()
        while i < end and fmt[i] in "#0+- ":
            flag = fmt[i]
            spec.sharp |= flag == "#"
            spec.plus |= flag == "+"
            spec.space |= flag == " "
            spec.minus |= flag == "-"
            spec.zero |= flag == "0" and not spec.minus  # "-" overrides "0"
            if flag == "-":
                spec.zero = False
            i += 1
        state.good_index = True
        i, after_index = state.arg_index(i)
        if i < end and fmt[i] == "*":
            i += 1
            spec.width = state.int_arg(out)
            if spec.width is not None and spec.width < 0:
                spec.minus, spec.zero, spec.width = True, False, -spec.width
            after_index = False
        else:
            i, spec.width = _parse_num(fmt, i)
            if after_index and spec.width is not None:
                state.good_index = False  # "%[3]2d"
        if i + 1 < end and fmt[i] == ".":
            i += 1
            if after_index:
                state.good_index = False  # "%[3].2d"
            i, after_index = state.arg_index(i)
            if i < end and fmt[i] == "*":
                i += 1
                spec.prec = state.int_arg(out, precision=True)
                after_index = False
            else:
                i, spec.prec = _parse_num(fmt, i)
                spec.prec = spec.prec or 0
        if not after_index:
            i, after_index = state.arg_index(i)
        if i >= end:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif not state.good_index:
            out.append(f"%!{verb}(BADINDEX)")
        elif state.next >= len(state.args):
            out.append(f"%!{verb}(MISSING)")
        else:
            if verb == "v":
                spec.sharp_v, spec.sharp = spec.sharp, False
                spec.plus_v, spec.plus = spec.plus, False
            out.append(format_arg(state.args[state.next], verb, spec))
            state.next += 1
    if not state.reordered and state.next < len(state.args):
        extra = ", ".join("<nil>" if arg is None else f"{go_type(arg)}={format_v(arg)}"
                          for arg in state.args[state.next:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


class _PrintfState:
    """The argument cursor of one Sprintf call."""

    def __init__(self, fmt: str, args: list):
        self.fmt = fmt
        self.args = args
        self.next = 0
        self.reordered = False
        self.good_index = True

    def arg_index(self, i: int) -> tuple[int, bool]:
        """Parse "[n]" at i: the next argument becomes the n-th (1-based)."""
        fmt = self.fmt
        if i >= len(fmt) or fmt[i] != "[":
            return i, False
        self.reordered = True
        close = fmt.find("]", i)
        if close < 0:
            self.good_index = False
            return i + 1, False
        digits = fmt[i + 1:close]
        if digits.isdigit() and digits.isascii() and 0 < int(digits) <= len(self.args):
            self.next = int(digits) - 1
            return close + 1, True
        self.good_index = False
        return close + 1, bool(digits.isdigit() and digits.isascii())

    def int_arg(self, out: list[str], precision: bool = False) -> int | None:
        """A "*" width or precision taken from the arguments."""
        value = None
        if self.next < len(self.args):
            arg = self.args[self.next]
            if isinstance(arg, int) and not isinstance(arg, bool):
                value = arg
            self.next += 1
        if precision and value is not None and value < 0:
            value = None  # a negative precision means none
        if value is None:
            out.append("%!(BADPREC)" if precision else "%!(BADWIDTH)")
        return value


def _parse_num(fmt: str, i: int) -> tuple[int, int | None]:
    start = i
    while i < len(fmt) and "0" <= fmt[i] <= "9":
        i += 1
    return i, (int(fmt[start:i]) if i > start else None)
