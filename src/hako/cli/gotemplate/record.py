"""`Record`, the base of tokens and tree nodes.

Plain classes with ``__slots__`` rather than dataclasses: importing `dataclasses` costs more
than this whole package's own code, and the CLI pays for the import on every ``--format``.
"""


class Record:
    """A small immutable record: positional fields named by ``__slots__``::

        class Dot(Record):
            __slots__ = ("pos",)

        Dot(7).pos == 7
    """

    __slots__ = ()

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self):
        fields = ", ".join(repr(getattr(self, name)) for name in self.__slots__)
        return f"{type(self).__name__}({fields})"
