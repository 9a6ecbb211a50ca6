"""The parse tree, Go's text/template/parse/node.go: what the parser builds and the
evaluator walks.

A template body is a tuple of nodes: `Text`, `Action` (``{{pipeline}}``), `Control` (if, with,
range), `Jump` (break, continue) and `TemplateCall`. A pipeline (`Pipe`) is commands joined by
``|``; a command (`Command`) is a function, field, variable or literal with its arguments
(positions left out here)::

    {{.Name | printf "%s!"}}  ->  Action(Pipe(cmds=(Command((Field(("Name",)),)),
                                                    Command((Identifier("printf"),
                                                             Literal('"%s!"')))))

Every node knows its offset in the template (for "template: :1:7:" in execution errors) and
prints itself as Go's String() does (for the "at <…>" part of those errors).
"""

from __future__ import annotations

from .literals import go_quote
from .record import Record


class Text(Record):
    __slots__ = ("pos", "text")
    pos: int
    text: str


class Field(Record):
    __slots__ = ("pos", "idents")
    pos: int
    idents: tuple[str, ...]

    def __str__(self):
        return "".join("." + ident for ident in self.idents)


class Variable(Record):
    __slots__ = ("pos", "idents")
    pos: int
    idents: tuple[str, ...]  # ("$x", "Field", …)

    def __str__(self):
        return ".".join(self.idents)


class Dot(Record):
    __slots__ = ("pos",)
    pos: int

    def __str__(self):
        return "."


class Nil(Record):
    __slots__ = ("pos",)
    pos: int

    def __str__(self):
        return "nil"


class Literal(Record):
    """A bool, number or string constant: ``value`` is what it evaluates to, ``text`` its
    spelling in the template."""

    __slots__ = ("pos", "text", "value", "is_int")
    pos: int
    text: str
    value: object
    is_int: bool  # a number usable where Go wants an int (3, 3.0, 'a')

    def __str__(self):
        return self.text


class Identifier(Record):
    __slots__ = ("pos", "name")
    pos: int
    name: str

    def __str__(self):
        return self.name


class Chain(Record):
    """Fields applied to a term that is not a field or variable: ``(index .A 0).Name``."""

    __slots__ = ("pos", "node", "fields")
    pos: int
    node: object
    fields: tuple[str, ...]

    def __str__(self):
        inner = f"({self.node})" if isinstance(self.node, Pipe) else str(self.node)
        return inner + "".join("." + name for name in self.fields)


class Command(Record):
    __slots__ = ("pos", "args")
    pos: int
    args: tuple

    def __str__(self):
        return " ".join(f"({arg})" if isinstance(arg, Pipe) else str(arg) for arg in self.args)


class Pipe(Record):
    __slots__ = ("pos", "decl", "is_assign", "cmds")
    pos: int
    decl: tuple[str, ...]  # variable names declared or assigned
    is_assign: bool
    cmds: tuple[Command, ...]

    def __str__(self):
        text = ""
        if self.decl:
            text = ", ".join(self.decl) + (" = " if self.is_assign else " := ")
        return text + " | ".join(str(cmd) for cmd in self.cmds)


class Action(Record):
    __slots__ = ("pos", "pipe")
    pos: int
    pipe: Pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


class Control(Record):
    """if, with and range: ``{{if pipe}}body{{else}}else_body{{end}}``."""

    __slots__ = ("pos", "kind", "pipe", "body", "else_body")
    pos: int
    kind: str
    pipe: Pipe
    body: tuple
    else_body: tuple | None

    def __str__(self):
        text = "{{" + self.kind + " " + str(self.pipe) + "}}" + _list_str(self.body)
        if self.else_body is not None:
            text += "{{else}}" + _list_str(self.else_body)
        return text + "{{end}}"


class Jump(Record):
    """{{break}} or {{continue}} inside a range."""

    __slots__ = ("pos", "kind")
    pos: int
    kind: str

    def __str__(self):
        return "{{" + self.kind + "}}"


class TemplateCall(Record):
    __slots__ = ("pos", "name", "pipe")
    pos: int
    name: str
    pipe: Pipe | None

    def __str__(self):
        tail = f" {self.pipe}" if self.pipe is not None else ""
        return "{{template " + go_quote(self.name) + tail + "}}"


def _list_str(nodes) -> str:
    return "".join(node.text if isinstance(node, Text) else str(node) for node in nodes)


class End(Record):
    __slots__ = ("pos",)
    pos: int

    def __str__(self):
        return "{{end}}"


class Else(Record):
    __slots__ = ("pos",)
    pos: int

    def __str__(self):
        return "{{else}}"
