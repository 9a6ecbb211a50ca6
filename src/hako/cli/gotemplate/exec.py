"""Running a template: the statement half of Go's text/template/exec.go.

`Exec` walks the parsed body, writing text as it is and each action's value as Go prints it,
and follows if, with, range (with break and continue) and {{template}} calls; the
pipelines inside are evaluated by its base, `Evaluator`::

    out = []
    Exec(Template("{{range .}}<{{.}}>{{end}}"), out).run([1, 2])
    "".join(out) == "<1><2>"
"""

from __future__ import annotations

from .evaluate import Evaluator
from .literals import go_quote
from .nodes import Action, Control, Jump, Pipe, TemplateCall, Text
from .printing import print_value
from .values import MISSING, sort_key, truth

_MAX_DEPTH = 100  # nested {{template}} calls, far below Python's recursion limit


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Exec(Evaluator):
    """One run of a template, writing into ``out``; ``depth`` counts nested {{template}}
    calls."""

    def __init__(self, template, out: list[str], name: str = "", depth: int = 0,
                 strict: bool = False):
        super().__init__(template, name, strict)
        self.out = out
        self.depth = depth

    def run(self, data, body: tuple | None = None):
        """Write the template's body (or a {{define}}d ``body``) with dot and $ set to data."""
        self.root = data
        self.vars = [["$", data]]
        self.walk(data, self.template.body if body is None else body)

    def walk(self, dot, nodes):
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.eval_pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.at(node)
                    self.out.append(print_value(value))
            elif isinstance(node, Control):
                if node.kind == "range":
                    self.walk_range(dot, node)
                else:
                    self.walk_if_or_with(dot, node)
            elif isinstance(node, Jump):
                raise _Break() if node.kind == "break" else _Continue()
            elif isinstance(node, TemplateCall):
                self.walk_template(dot, node)

    def walk_if_or_with(self, dot, node: Control):
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if truth(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot, node: Control):
        self.at(node)
        outer_mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            items = self.range_items(value, node.pipe)
            if not items:
                if node.else_body is not None:
                    self.walk(dot, node.else_body)
                return
            mark = len(self.vars)
            for index, elem in items:
                self.set_range_vars(node.pipe, index, elem)
                try:
                    self.walk(elem, node.body)
                except _Continue:
                    pass
                except _Break:
                    return
                finally:
                    del self.vars[mark:]
        finally:
            del self.vars[outer_mark:]

    def range_items(self, value, pipe: Pipe) -> list:
        if isinstance(value, (list, tuple)):
            return list(enumerate(value))
        if isinstance(value, dict):
            # Go ranges over a map in sorted key order.
            return [(key, value[key]) for key in sorted(value, key=sort_key)]
        if isinstance(value, int) and not isinstance(value, bool):
            if len(pipe.decl) > 1:
                self.error(f"can't use {value} to iterate over more than one variable")
            return [(i, i) for i in range(value)]
        if value is None or value is MISSING:
            return []
        self.error(f"range can't iterate over {print_value(value)}")

    def set_range_vars(self, pipe: Pipe, index, elem):
        if not pipe.decl:
            return
        if pipe.is_assign:
            # With two variables the index comes first; with one, it is the element.
            if len(pipe.decl) > 1:
                self.set_var(pipe.decl[0], index)
                self.set_var(pipe.decl[1], elem)
            else:
                self.set_var(pipe.decl[0], elem)
            return
        self.vars[-1][1] = elem
        if len(pipe.decl) > 1:
            self.vars[-2][1] = index

    def walk_template(self, dot, node: TemplateCall):
        self.at(node)
        body = self.template.defined.get(node.name)
        if body is None:
            self.error(f"template {go_quote(node.name)} not defined")
        if self.depth >= _MAX_DEPTH:
            self.error(f"exceeded maximum template depth ({_MAX_DEPTH})")
        value = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        # No dynamic scoping: the called template sees only $ (its dot).
        inner = Exec(self.template, self.out, node.name, self.depth + 1, self.strict)
        inner.run(value, body)
