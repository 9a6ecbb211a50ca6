"""How Python data stands for Go values while a template runs.

Data is JSON-like (dict, list, str, int, float, bool, None) or any Python object (a row whose
attributes are docker's placeholders). Go has one kind of value Python lacks: "no value at
all", the invalid reflect.Value a missing map key evaluates to, printed ``<no value>``; it is
`MISSING` here, while ``None`` is Go's nil, printed ``<nil>``.
"""

from __future__ import annotations


class _Missing:
    """Go's invalid reflect.Value: what a missing map key evaluates to."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()

# The last command of a pipeline gets the previous command's result as an extra argument;
# this marks "nothing piped in", which a piped-in MISSING must not be mistaken for.
NO_FINAL = object()

# Types whose fields a template cannot read (Go's basic types, slices and maps).
PLAIN_TYPES = (str, int, float, bool, list, tuple, dict)


def as_arg(value):
    """A value passed as Go's interface{}: "no value" becomes nil."""
    return None if value is MISSING else value


def truth(value) -> bool:
    """Go's isTrue: false, 0, nil, and empty strings, lists and maps are false."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, (bool, int, float)):
        return value != 0
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return True


def sort_key(key):
    # Go sorts map keys by value; numbers before strings is only ever a tie-breaker here.
    return (isinstance(key, str), key)


def go_type(value) -> str:
    """The Go type a value would have in docker's decoded JSON. An object names its own with
    a ``GO_TYPE`` class attribute (a ps row is docker's ``*formatter.ContainerContext``)."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return getattr(type(value), "GO_TYPE", type(value).__name__)
