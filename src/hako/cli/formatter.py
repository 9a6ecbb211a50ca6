"""`--format` for list commands (ps, images, stats …) and single objects (inspect, version).

The forms docker accepts::

    ""  or "table"        the command's default table (no template engine involved)
    "table TEMPLATE"      a table: header line from the template's fields, rows aligned
    "json"                one JSON object per row
    "TEMPLATE"            the Go template rendered once per row, each followed by a newline

Rows are objects whose attributes are docker's placeholder names (``.ID``, ``.Names`` …) and
whose ``as_dict()`` gives the JSON form. Templates go through `hako.cli.gotemplate`, imported
only when a template is actually given.
"""

from __future__ import annotations

from .command import StatusError
from .gofmt import go_json
from .tabwriter import tabulate

# docker's formatter puts this before Go's message for a template that does not parse and,
# despite the words, for one that fails while running too.
TEMPLATE_ERROR = "template parsing error: "


def template_engine():
    """The gotemplate module; a clear error if it is not available."""
    try:
        from . import gotemplate
    except ImportError as exc:  # pragma: no cover - the module ships with hako
        raise StatusError(1, f"template support is not available: {exc}") from None
    return gotemplate


def render_rows(fmt: str, rows, columns, headers: dict) -> str:
    """The text for a list of rows. ``columns`` is the default table as ``[(field, header)]``;
    ``headers`` maps every field to its header for "table TEMPLATE" headers. A template that
    does not parse, or that fails on a row, fails with status 1 and docker's formatter's
    "template parsing error: " before Go's message, whichever went wrong; nothing is written
    then, as docker writes a table only once every row has rendered."""
    fmt = fmt or "table"
    if fmt == "table":
        return default_table(rows, columns)
    if fmt == "json":
        return "".join(go_json(row.as_dict()) + "\n" for row in rows)
    engine = template_engine()
    is_table, body = engine.parse_table(fmt)
    body = _unescape(body)
    template = compile_or_fail(engine, body, TEMPLATE_ERROR, 1)
    try:
        if is_table:
            lines = [engine.header_for(body, headers)]
            lines += [template.execute(row) for row in rows]
            return tabulate("\n".join(lines) + "\n")
        return "".join(template.execute(row) + "\n" for row in rows)
    except engine.TemplateError as exc:
        raise StatusError(1, f"{TEMPLATE_ERROR}{exc}") from None


def render_one(fmt: str, data, parse_prefix: str = TEMPLATE_ERROR) -> str:
    """One object through a template (``version -f``, ``info -f``), plus a newline. As docker:
    status 64 when the template does not parse, 1 (message alone) when it fails on the data."""
    if fmt == "json":
        return go_json(data) + "\n"
    engine = template_engine()
    template = compile_or_fail(engine, fmt, parse_prefix, 64)
    try:
        return template.execute(data) + "\n"
    except engine.TemplateError as exc:
        raise StatusError(1, str(exc)) from None


def compile_or_fail(engine, template: str, prefix: str, status: int):
    try:
        return engine.compile_template(template)
    except engine.TemplateError as exc:
        raise StatusError(status, f"{prefix}{exc}") from None


def default_table(rows, columns) -> str:
    lines = ["\t".join(header for _, header in columns)]
    for row in rows:
        lines.append("\t".join(str(getattr(row, field)) for field, _ in columns))
    return tabulate("\n".join(lines) + "\n")


def _unescape(template: str) -> str:
    # docker lets users write a literal "\t" and "\n" in --format (formatter.Format.Parse
    # replaces them with a tab and a newline before parsing).
    return template.replace("\\t", "\t").replace("\\n", "\n")
