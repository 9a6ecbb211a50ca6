"""`Func`: a template function with the Go signature the evaluator checks calls against.

Go's template engine calls functions through reflection, so it knows each parameter's type
and reports a mismatch before the call ("wrong type for value; expected string; got int").
Python functions carry no such types, so each one is registered with its Go parameter kinds::

    Func(_join, ("strs", "str"))                       # join(a []string, sep string)
    Func(_index, ("any", "any"), variadic=True)        # index(item any, indexes ...any)

A function reports its own failure by raising `CallError` (any exception will do; Go recovers
a panic the same way), which the evaluator turns into "error calling NAME: …".
"""


class CallError(Exception):
    """A function's own error, reported as "error calling NAME: …"."""


class Func:
    """A template function: ``params`` are the Go parameter kinds ("any", "str", "int",
    "strs" for []string); with ``variadic`` the last one repeats. ``lazy`` functions get the
    evaluator and unevaluated argument nodes (and, or)."""

    __slots__ = ("impl", "params", "variadic", "lazy")

    def __init__(self, impl, params: tuple[str, ...], variadic: bool = False,
                 lazy: bool = False):
        self.impl = impl
        self.params = params
        self.variadic = variadic
        self.lazy = lazy

    def param(self, i: int) -> str:
        """The kind of the i-th argument."""
        if i >= len(self.params):
            return self.params[-1]
        return self.params[i]

    def arity_error(self, name: str, count: int, given: int) -> str | None:
        """Go's message when ``count`` arguments (``given`` of them written in the template,
        the rest piped in) do not fit the signature, else None."""
        if self.variadic:
            fixed = len(self.params) - 1
            if count < fixed:
                return f"wrong number of args for {name}: want at least {fixed} got {given}"
        elif count != len(self.params):
            return f"wrong number of args for {name}: want {len(self.params)} got {count}"
        return None
