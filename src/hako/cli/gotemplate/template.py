"""`Template`: a parsed template, ready to run over any number of values.

    Template("{{.Name}}:{{len .Args}}").execute({"Name": "web", "Args": [1, 2]}) == "web:2"
"""

from __future__ import annotations

import functools

from .docker_funcs import FUNCS
from .exec import Exec
from .parser import Parser


def render(template: str, data) -> str:
    """Run a Go template over ``data`` and return the text it produces."""
    return compile_template(template).execute(data)


@functools.lru_cache(maxsize=64)
def compile_template(template: str) -> Template:
    """Parse once; list commands render the same template for every row. Parsed trees are
    never modified, so a cached one is safe to share."""
    return Template(template)


class Template:
    """A parsed template: ``Template(text).execute(data) -> str``. ``funcs`` are the functions
    it may call (docker's set unless given); ``defined`` its {{define}}d templates by name.
    Raises `TemplateError` when ``text`` does not parse, and from `execute` when it fails on
    the data."""

    def __init__(self, text: str, funcs: dict | None = None):
        self.text = text
        self.funcs = funcs if funcs is not None else FUNCS
        parser = Parser(text, self.funcs)
        self.body = parser.parse()
        self.defined = parser.defined

    def execute(self, data, strict: bool = False) -> str:
        """The text the template produces over ``data``. ``strict``: read ``data`` as Go reads
        decoded JSON with missingkey=error (see `Evaluator`), as docker inspect's fallback does.
        """
        out: list[str] = []
        Exec(self, out, strict=strict).run(data)
        return "".join(out)
