r"""docker's ``table`` formats: the prefix, and the header line drawn from the template.

    parse_table("table {{.ID}}\t{{.Names}}") == (True, "{{.ID}}\t{{.Names}}")
    header_for("{{.ID}}\t{{.Names}}", {"ID": "CONTAINER ID"}) == "CONTAINER ID\tNAMES"
"""

from __future__ import annotations

from .docker_funcs import HEADER_FUNCS
from .errors import TemplateError
from .exec import Exec
from .template import Template


def parse_table(template: str) -> tuple[bool, str]:
    """Split docker's ``table`` prefix off a format: ``"table {{.ID}}"`` -> ``(True, "{{.ID}}")``.

    docker's test is a plain prefix test (cli/command/formatter: ``strings.HasPrefix(format,
    "table")``) and it then trims spaces from both ends of what remains, for table and
    non-table formats alike; this does the same."""
    if template.startswith("table"):
        return True, template[len("table"):].strip(" ")
    return False, template.strip(" ")


def header_for(body: str, headers: dict[str, str]) -> str:
    """The header line of a ``table`` format: the body rendered with every ``{{.Field}}`` replaced
    by its header (``headers["ID"] == "CONTAINER ID"``; unknown fields give the upper-cased name).

    docker renders the header by running the same template over a header object, with its
    functions (json, upper, join …) replaced by ones that return their first argument unchanged,
    and ignores an execution error, keeping what was written before it; so does this."""
    template = Template(body, HEADER_FUNCS)
    out: list[str] = []
    try:
        Exec(template, out).run(_HeaderRow(headers))
    except TemplateError:
        pass
    return "".join(out)


class _HeaderRow:
    """The data a table header is rendered from: any field is its header text."""

    def __init__(self, headers: dict[str, str]):
        self._headers = headers

    def Label(self, key: str) -> str:  # noqa: N802 - the placeholder's name
        """``{{.Label "com.example.tier"}}`` is headed by the key's last dotted part, with
        "-" and "_" as spaces ("tier"), as docker's Label placeholders name their column."""
        return key.rsplit(".", 1)[-1].replace("-", " ").replace("_", " ")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return _HeaderCell(self._headers.get(name, name.upper()))


class _HeaderCell(str):
    """A header text that also accepts a call, for fields used as methods (``.Label "x"``)."""

    def __call__(self, *args):
        return self
