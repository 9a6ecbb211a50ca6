"""A light stand-in for ``@dataclass(frozen=True)`` on the runtime's start-up path.

Importing dataclasses costs ~15 ms here and each decorated class ~0.5 ms more, which would double
the start-up of `hako-runtime`. A Record takes its fields from the class annotations (in order),
its defaults from class attributes, and ``factory(f)`` for mutable defaults; instances compare
by value, print like dataclasses and refuse assignment.
"""

from __future__ import annotations

_MISSING = object()


class factory:  # noqa: N801 - reads like dataclasses.field(default_factory=...)
    def __init__(self, make):
        self.make = make


class Record:
    def __init__(self, *args, **kwargs):
        names = self._fields()
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} fields")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names or key in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated field {key!r}")
            values[key] = value
        for name in names:
            if name not in values:
                default = getattr(type(self), name, _MISSING)
                if default is _MISSING:
                    raise TypeError(f"{type(self).__name__}: missing field {name!r}")
                values[name] = default.make() if isinstance(default, factory) else default
            object.__setattr__(self, name, values[name])

    @classmethod
    def _fields(cls) -> tuple:
        fields = cls.__dict__.get("_field_names")
        if fields is None:
            fields = tuple(cls.__dict__.get("__annotations__", {}))
            cls._field_names = fields
        return fields

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields())

    def __hash__(self):
        return hash(tuple(_hashable(getattr(self, n)) for n in self._fields()))

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields())
        return f"{type(self).__name__}({inner})"


def _hashable(value):
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    if isinstance(value, list):
        return tuple(value)
    return value
