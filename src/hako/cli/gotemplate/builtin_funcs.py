"""Go's builtin template functions (text/template/funcs.go), registered in `BUILTINS`.

    and or not          truth, with and/or stopping at the deciding argument (Go 1.18+)
    eq ne lt le gt ge   comparisons of basic values, with Go's errors for mixed kinds
    len index slice     on strings (bytes, as Go counts), lists and maps
    print printf println, html js urlquery, call

Each takes the evaluated arguments and returns a value, or raises `CallError` with Go's message.
"""

from __future__ import annotations

from .function import CallError, Func
from .nodes import Nil
from .printf import sprintf
from .printing import format_v, print_value, sprint
from .values import MISSING, NO_FINAL, go_type, truth


def _and_or(want: bool):
    """and (want=False) or or (want=True). Lazy: ``evaluator`` evaluates the argument nodes one
    at a time, and the first whose truth is ``want`` is the result."""
    def impl(evaluator, dot, args, final):
        value = MISSING
        for arg in args:
            # and/or take reflect.Values in Go, where a nil literal is "no value".
            value = MISSING if isinstance(arg, Nil) else evaluator.eval_arg(dot, arg)
            if truth(value) == want:
                return value
        if final is not NO_FINAL:
            value = final
        return value
    return impl


def _not(value):
    return not truth(value)


def _len(value):
    if value is None:
        raise CallError("len of nil pointer")
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))  # Go's len counts bytes
    if isinstance(value, (list, tuple, dict)):
        return len(value)
    raise CallError(f"len of type {go_type(value)}")


def _index(item, *indexes):
    if item is None:
        if indexes and all(isinstance(i, str) for i in indexes):
            # docker's structs type labels as map[string]string, and a nil one indexes to "".
            return ""
        raise CallError("index of untyped nil")
    for index in indexes:
        if item is None or item is MISSING:
            raise CallError("index of nil pointer")
        if isinstance(item, (list, tuple, str)):
            sequence = item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item
            position = _index_arg(index, len(sequence), "slice/array")
            if position == len(sequence):  # past indexArg's check, caught by reflect
                kind = "string" if isinstance(item, str) else "slice"
                raise CallError(f"reflect: {kind} index out of range")
            item = sequence[position]
        elif isinstance(item, dict):
            if not isinstance(index, str):
                raise CallError(f"value has type {go_type(index)}; should be string")
            if index in item:
                item = item[index]
            elif all(isinstance(v, str) for v in item.values()):
                item = ""  # the zero value of a map[string]string, which labels are in docker
            else:
                item = MISSING
        else:
            raise CallError(f"can't index item of type {go_type(item)}")
    return item


def _index_arg(index, length: int, what: str, cap: int | None = None) -> int:
    if index is None:
        raise CallError(f"cannot index {what} with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise CallError(f"cannot index {what} with type {go_type(index)}")
    if index < 0 or index > (length if cap is None else cap):
        raise CallError(f"index out of range: {index}")
    return index


def _slice(item, *indexes):
    if item is None:
        raise CallError("slice of untyped nil")
    if len(indexes) > 3:
        raise CallError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise CallError("cannot 3-index slice a string")
        data = item.encode("utf-8", "surrogatepass")
    elif isinstance(item, (list, tuple)):
        data = item
    else:
        raise CallError(f"can't slice item of type {go_type(item)}")
    bounds = [0, len(data)]
    for i, index in enumerate(indexes):
        bounds_i = _index_arg(index, len(data), "slice/array", cap=len(data))
        if i < 2:
            bounds[i] = bounds_i
    if bounds[0] > bounds[1]:
        raise CallError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if len(indexes) == 3 and indexes[1] > indexes[2]:
        raise CallError(f"invalid slice index: {indexes[1]} > {indexes[2]}")
    result = data[bounds[0]:bounds[1]]
    if isinstance(item, str):
        return result.decode("utf-8", "replace")
    return list(result)


def _basic_kind(value):
    if value is None or value is MISSING:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return None


def _eq(first, *others):
    if not others:
        raise CallError("missing argument for comparison")
    k1 = _basic_kind(first)
    for other in others:
        k2 = _basic_kind(other)
        if k1 != k2:
            if k1 != "invalid" and k2 != "invalid":
                raise CallError("incompatible types for comparison")
            continue
        if k1 is None:
            if isinstance(first, (list, tuple, dict)) or isinstance(other, (list, tuple, dict)):
                raise CallError(f"non-comparable type {print_value(first)}: "
                                 f"{go_type(first)}")
            if first is other or first == other:
                return True
        elif k1 == "invalid" or first == other:
            return True
    return False


def _ne(first, second):
    return not _eq(first, second)


def _lt(first, second):
    k1, k2 = _basic_kind(first), _basic_kind(second)
    if k1 in (None, "invalid") or k2 in (None, "invalid"):
        raise CallError("invalid type for comparison")
    if k1 != k2:
        raise CallError("incompatible types for comparison")
    if k1 == "bool":
        raise CallError("invalid type for comparison")
    return first < second


def _le(first, second):
    return _lt(first, second) or _eq(first, second)


def _gt(first, second):
    return not _le(first, second)


def _ge(first, second):
    return not _lt(first, second)


def _call(func, *args):
    if func is None:
        raise CallError("call of nil")
    if not callable(func):
        raise CallError(f"non-function {format_v(func)} of type {go_type(func)}")
    try:
        return func(*args)
    except Exception as exc:
        raise CallError(str(exc)) from None


def _print(*args):
    return sprint(args)


def _println(*args):
    return " ".join(print_value(arg) for arg in args) + "\n"


def _printf(fmt, *args):
    return sprintf(fmt, args)


def _escape_args(args) -> str:
    """Go's evalArgs for html/js/urlquery: a lone string as is, else fmt.Sprint of all, where
    a nil is first turned into the string "<no value>"."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(["<no value>" if arg is None else arg for arg in args])


def _html(*args):
    text = _escape_args(args)
    return "".join(_HTML_ESCAPES.get(ch, ch) for ch in text)


_HTML_ESCAPES = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;",
                 "\0": "\ufffd"}


def _js(*args):
    text = _escape_args(args)
    out = []
    for ch in text:
        if ch in _JS_ESCAPES:
            out.append(_JS_ESCAPES[ch])
        elif ch < " ":
            out.append("\\u%04X" % ord(ch))
        elif ch.isascii() or ch.isprintable():
            out.append(ch)
        else:
            out.append("\\u%04X" % ord(ch))
    return "".join(out)


_JS_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
               "&": "\\u0026", "=": "\\u003D"}


def _urlquery(*args):
    from urllib.parse import quote_plus
    return quote_plus(_escape_args(args), safe="")


BUILTINS: dict[str, Func] = {
    "and": Func(_and_or(False), ("any", "any"), variadic=True, lazy=True),
    "or": Func(_and_or(True), ("any", "any"), variadic=True, lazy=True),
    "not": Func(_not, ("any",)),
    "len": Func(_len, ("any",)),
    "index": Func(_index, ("any", "any"), variadic=True),
    "slice": Func(_slice, ("any", "any"), variadic=True),
    "print": Func(_print, ("any",), variadic=True),
    "printf": Func(_printf, ("str", "any"), variadic=True),
    "println": Func(_println, ("any",), variadic=True),
    "eq": Func(_eq, ("any", "any"), variadic=True),
    "ne": Func(_ne, ("any", "any")),
    "lt": Func(_lt, ("any", "any")),
    "le": Func(_le, ("any", "any")),
    "gt": Func(_gt, ("any", "any")),
    "ge": Func(_ge, ("any", "any")),
    "call": Func(_call, ("any", "any"), variadic=True),
    "html": Func(_html, ("any",), variadic=True),
    "js": Func(_js, ("any",), variadic=True),
    "urlquery": Func(_urlquery, ("any",), variadic=True),
}
