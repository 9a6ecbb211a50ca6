"""docker's template functions (cli/templates/templates.go) and the two function sets a
template runs with.

    json split join title upper lower pad truncate

`FUNCS` is what docker's templates see: Go's builtins plus these. `HEADER_FUNCS` is docker's
HeaderFunctions, used to render the header line of a ``table`` format: there docker's own
functions return their first argument unchanged, so ``{{upper .Names}}`` heads its column
with ``NAMES`` rather than ``names``.
"""

from __future__ import annotations

import unicodedata

from .builtin_funcs import BUILTINS
from .function import CallError, Func
from .gojson import go_json


def _json(value):
    return go_json(value)


def _split(text: str, sep: str):
    if sep == "":
        return list(text)
    return text.split(sep)


def _join(items, sep: str):
    return sep.join(items)


def _title(text: str):
    """Go's strings.Title: upper-case the first letter of each word (words are split at
    anything but letters, digits and "_")."""
    out = []
    prev = " "
    for ch in text:
        out.append(_one_char(ch.title(), ch) if _is_separator(prev) else ch)
        prev = ch
    return "".join(out)


def _is_separator(ch: str) -> bool:
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    if ch.isalpha() or unicodedata.category(ch) == "Nd":
        return False
    return ch.isspace()


def _one_char(mapped: str, original: str) -> str:
    # Go maps rune by rune; Python's "ß".upper() == "SS" has no one-rune equivalent.
    return mapped if len(mapped) == 1 else original


def _upper(text: str):
    return "".join(_one_char(ch.upper(), ch) for ch in text)


def _lower(text: str):
    return "".join(_one_char(ch.lower(), ch) for ch in text)


def _pad(text: str, prefix: int, suffix: int):
    if text == "":
        return text
    if prefix < 0 or suffix < 0:
        raise CallError("strings: negative Repeat count")
    return " " * prefix + text + " " * suffix


def _truncate(text: str, length: int):
    data = text.encode("utf-8", "surrogatepass")
    if len(data) < length:
        return text
    if length < 0:
        raise CallError(f"runtime error: slice bounds out of range [:{length}]")
    return data[:length].decode("utf-8", "replace")  # docker slices bytes, as Go's s[:n]


def _identity(value, *_ignored):
    return value


DOCKER_FUNCS: dict[str, Func] = {
    "json": Func(_json, ("any",)),
    "split": Func(_split, ("str", "str")),
    "join": Func(_join, ("strs", "str")),
    "title": Func(_title, ("str",)),
    "lower": Func(_lower, ("str",)),
    "upper": Func(_upper, ("str",)),
    "pad": Func(_pad, ("str", "int", "int")),
    "truncate": Func(_truncate, ("str", "int")),
}

FUNCS: dict[str, Func] = {**BUILTINS, **DOCKER_FUNCS}

HEADER_FUNCS = dict(FUNCS)
for _name, _func in DOCKER_FUNCS.items():
    HEADER_FUNCS[_name] = Func(_identity, ("any",) * len(_func.params))
del _name, _func
