"""Evaluating pipelines: the expression half of Go's text/template/exec.go.

An `Evaluator` turns a `Pipe` into a value, given dot (the current data) and the variables
in scope: it reads fields (a dict key, an attribute, or a method called with arguments, as Go
calls a method: ``{{.Label "com.example"}}``), calls functions after checking their
arguments against the Go signature (see `function`), and pipes each command's result into
the next one as its last argument.

A field of "no value" (`MISSING`) or of nil is "no value" again, and so is a missing key:
docker evaluates typed structs, where the fields of an absent optional object come out so.
With ``strict`` all three are errors, as Go's are over decoded JSON with missingkey=error,
which is what docker inspect falls back to (see `Evaluator`).

Errors are raised with `error`, which positions them at the node being evaluated, as Go's
"template: :1:7: executing "" at <.Name.Foo>: …".
"""

from __future__ import annotations

from .errors import TemplateError
from .literals import go_quote
from .nodes import Chain, Command, Dot, Field, Identifier, Literal, Nil, Pipe, Variable
from .printing import print_value
from .values import MISSING, NO_FINAL, PLAIN_TYPES, as_arg, go_type

_GO_PARAM_NAMES = {"str": "string", "int": "int", "strs": "[]string"}


class Evaluator:
    """Evaluates pipelines of one template (``template.text`` for positions,
    ``template.funcs`` for functions). ``vars`` is the variable stack, innermost last, as
    ``[name, value]`` pairs; ``node`` is the node being evaluated, named in error messages;
    ``name`` is the running template's, which a {{define}} gives.

    ``strict`` evaluates as Go does over JSON decoded into interface{} values with the option
    missingkey=error, which is how docker inspect reads an object when its typed struct fails
    the template: a missing key is an error ("map has no entry for key"), and so is a field
    of a JSON null ("nil pointer evaluating interface {}.X"). Without it, both are "no value",
    as fields of docker's typed structs mostly are."""

    def __init__(self, template, name: str = "", strict: bool = False):
        self.template = template
        self.funcs = template.funcs
        self.name = name
        self.strict = strict
        self.root = None  # the data the template runs over ($)
        self.vars: list[list] = []
        self.node = None

    # -- errors

    def at(self, node):
        self.node = node

    def error(self, message: str):
        """Raise Go's execution error: the location is in the source text (whose name is
        always "" for docker), the name is the template running, which a {{define}} names."""
        name = go_quote(self.name)
        if self.node is None:
            raise TemplateError(f"template: {name}: {message}")
        text = self.template.text
        pos = self.node.pos
        line = text.count("\n", 0, pos) + 1
        # Go counts the column in bytes.
        col = len(text[text.rfind("\n", 0, pos) + 1:pos].encode("utf-8", "surrogatepass"))
        raise TemplateError(f"template: :{line}:{col}: executing {name} at <{self.node}>: "
                            f"{message}")

    # -- variables

    def var_value(self, name: str):
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        self.error(f"undefined variable: {name}")

    def set_var(self, name: str, value):
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        self.error(f"undefined variable: {name}")

    # -- expressions

    def eval_pipeline(self, dot, pipe: Pipe):
        self.at(pipe)
        value = NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append([name, value])
        return value

    def eval_command(self, dot, cmd: Command, final):
        first = cmd.args[0]
        if isinstance(first, Field):
            self.at(first)
            return self.eval_field_chain(dot, dot, first, first.idents, cmd.args, final)
        if isinstance(first, Chain):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, Identifier):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, Pipe):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, Variable):
            return self.eval_variable(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, Dot):
            return dot
        if isinstance(first, Nil):
            self.error("nil is not a command")
        return self.literal(first)

    def literal(self, node: Literal):
        if isinstance(node.value, int) and node.value >= 1 << 63:
            self.error(f"{node} overflows int")  # a uint64 constant, too big for Go's int
        return node.value

    def not_a_function(self, args, final):
        if len(args) > 1 or final is not NO_FINAL:
            self.error(f"can't give argument to non-function {args[0]}")

    def eval_variable(self, dot, node: Variable, args, final):
        self.at(node)
        value = self.var_value(node.idents[0])
        if len(node.idents) == 1:
            self.not_a_function(args or (node,), final)
            return value
        return self.eval_field_chain(dot, value, node, node.idents[1:], args, final)

    def eval_chain(self, dot, node: Chain, args, final):
        self.at(node)
        if isinstance(node.node, Nil):
            self.error(f"indirection through explicit nil in {node}")
        receiver = self.eval_arg(dot, node.node)
        return self.eval_field_chain(dot, receiver, node, node.fields, args, final)

    def eval_field_chain(self, dot, receiver, node, idents, args, final):
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, None, NO_FINAL, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(self, dot, name: str, node, args, final, receiver):
        """``receiver.name``: a map key, an attribute, or a method call with ``args[1:]`` (and
        the piped-in ``final``) as its arguments."""
        has_args = (args is not None and len(args) > 1) or final is not NO_FINAL
        if receiver is MISSING or receiver is None:
            if self.strict:
                self.nil_field_error(name, receiver)
            # Go: a field of "no value" is "no value". (A field of a JSON null is an error in
            # Go's map evaluation, but docker first evaluates typed structs, where the fields
            # of an absent optional object also come out as <no value>.)
            return MISSING
        if isinstance(receiver, dict):
            if name not in receiver:
                if has_args:
                    self.error(f"{name} is not a method but has arguments")
                if self.strict:
                    self.error(f"map has no entry for key {go_quote(name)}")
                return MISSING
            value = receiver[name]
            if callable(value):
                return self.call_method(dot, value, name, node, args, final)
            if has_args:
                self.error(f"{name} is not a method but has arguments")
            return value
        if isinstance(receiver, PLAIN_TYPES) or name.startswith("_"):
            self.error(f"can't evaluate field {name} in type {self.type_name(receiver)}")
        try:
            value = getattr(receiver, name)
        except AttributeError:
            self.error(f"can't evaluate field {name} in type {self.type_name(receiver)}")
        if callable(value):
            return self.call_method(dot, value, name, node, args, final)
        if has_args:
            # docker's row fields are Go methods without parameters; this is Go's message
            # for giving such a method arguments.
            count = (len(args) - 1 if args else 0) + (final is not NO_FINAL)
            self.error(f"wrong number of args for {name}: want 0 got {count}")
        return value

    def nil_field_error(self, name: str, receiver):
        """Go's errors for a field of nothing over decoded JSON: a JSON null is a nil
        interface{}, and "no value" is a missing map key's invalid value."""
        if receiver is None:
            self.error(f"nil pointer evaluating interface {{}}.{name}")
        self.error(f"nil data; no entry for key {go_quote(name)}")

    def type_name(self, receiver) -> str:
        """The Go type named in "can't evaluate field": in decoded JSON every value below the
        top is held in an interface{} (Go names that type, not the value's own)."""
        if self.strict and receiver is not self.root:
            return "interface {}"
        return go_type(receiver)

    def call_method(self, dot, method, name: str, node, args, final):
        argv = [as_arg(self.eval_arg(dot, arg)) for arg in (args or ())[1:]]
        if final is not NO_FINAL:
            argv.append(as_arg(final))
        self.at(node)
        want = _param_count(method)
        if want is not None and len(argv) != want:
            self.error(f"wrong number of args for {name}: want {want} got {len(argv)}")
        try:
            return method(*argv)
        except TemplateError:
            raise
        except Exception as exc:  # a row method failing is a template error, as in Go
            self.error(f"error calling {name}: {exc}")

    def eval_function(self, dot, node: Identifier, cmd, args, final):
        self.at(node)
        func = self.funcs[node.name]
        args = list(args[1:]) if args else []
        count = len(args) + (final is not NO_FINAL)
        problem = func.arity_error(node.name, count, len(args))
        if problem:
            self.error(problem)
        if func.lazy:
            # and/or evaluate their arguments only as far as needed (Go 1.18+).
            return func.impl(self, dot, args, final)
        argv = []
        for i, arg in enumerate(args):
            value = self.eval_arg(dot, arg)
            argv.append(self.coerce(value, func.param(i), arg))
        if final is not NO_FINAL:
            argv.append(self.coerce(final, func.param(len(args)), None))
        try:
            return func.impl(*argv)
        except Exception as exc:  # Go recovers a function's panic into this error too
            self.at(cmd)
            self.error(f"error calling {node.name}: {exc}")

    def eval_arg(self, dot, node):
        self.at(node)
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Nil):
            return None
        if isinstance(node, Field):
            return self.eval_field_chain(dot, dot, node, node.idents, (node,), NO_FINAL)
        if isinstance(node, Variable):
            return self.eval_variable(dot, node, None, NO_FINAL)
        if isinstance(node, Pipe):
            return self.eval_pipeline(dot, node)
        if isinstance(node, Identifier):
            return self.eval_function(dot, node, node, None, NO_FINAL)
        if isinstance(node, Chain):
            return self.eval_chain(dot, node, None, NO_FINAL)
        return self.literal(node)

    def coerce(self, value, kind: str, node):
        """Check an argument against a function's parameter type, as Go's reflection does,
        with Go's message when it does not fit. The error names the node evaluated last, as
        Go's does (for ``(not "x")`` that is ``"x"``)."""
        if kind == "any":
            return as_arg(value)
        if isinstance(node, Nil):
            if kind == "strs":
                return []  # a nil []string
            self.error(f"cannot assign nil to {_GO_PARAM_NAMES[kind]}")
        if isinstance(node, Literal):
            # Go checks a constant against the parameter before evaluating it.
            if kind == "str" and isinstance(value, str):
                return value
            if kind == "int" and node.is_int and not isinstance(value, (str, bool)):
                return int(value)
            if kind in ("str", "int"):
                expected = "string" if kind == "str" else "integer"
                self.error(f"expected {expected}; found {node}")
            self.error(f"can't handle {node} for arg of type {_GO_PARAM_NAMES[kind]}")
        if value is MISSING:
            self.error(f"invalid value; expected {_GO_PARAM_NAMES[kind]}")
        if kind == "str":
            if isinstance(value, str):
                return value
            if not isinstance(value, PLAIN_TYPES) and value is not None:
                return str(value)  # a row object with a String() of its own
        elif kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif kind == "strs":
            if value is None:
                return []
            if isinstance(value, (list, tuple)):
                return [item if isinstance(item, str) else print_value(item) for item in value]
        self.error(f"wrong type for value; expected {_GO_PARAM_NAMES[kind]}; "
                   f"got {go_type(value)}")


def _param_count(method) -> int | None:
    """How many arguments a Python method or function takes, as Go knows a method's, or None
    when that is not fixed (``*args``, defaults, builtins): Go checks the count before calling."""
    func = getattr(method, "__func__", method)
    code = getattr(func, "__code__", None)
    # 0x04 is CO_VARARGS (the inspect module is too slow to import for one constant)
    if code is None or code.co_flags & 0x04 or getattr(func, "__defaults__", None):
        return None
    return code.co_argcount - (1 if hasattr(method, "__self__") else 0)
