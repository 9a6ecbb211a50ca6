"""Go's text/template, the part docker's ``--format`` and ``inspect -f`` use.

docker formats output by running a Go template over a value: the inspect JSON of an object, or
a "row" whose fields are docker's placeholders (``.ID``, ``.Names``, ``.Size`` …). This package
reproduces that: Go's template syntax and evaluation rules, Go's builtin functions, docker's
extra functions and Go's way of printing values (``map[a:1]``, ``[x y]``, ``<no value>``,
``1e+06``)::

    >>> render('{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}', {"Labels": {"b": 2, "a": 1}})
    'a=1 b=2 '

The modules follow the stages of Go's implementation, each depending only on those above it:

    values, errors, record   the vocabulary: MISSING ("no value"), TemplateError, Record
    literals                 Go's quoting and its string, char and number literals
    lexer -> nodes -> parser template text to tokens to a tree (parse errors found here)
    printing, gojson         how Go prints a value with %v, and encodes it as JSON
    verbs, printf            fmt.Sprintf for the printf function
    function                 Func: a function and the Go signature calls are checked against
    builtin_funcs            Go's builtins (and, eq, index, len, printf …)
    docker_funcs             docker's (json, join, split, title, upper, lower, pad, truncate)
    evaluate -> exec         running a tree: pipelines, then statements (if, range …)
    template, table          the public face: Template, and docker's "table" formats

Data is JSON-like (dict, list, str, int, float, bool, None) or any Python object: a field
``.Name`` is a dict key or an attribute, and a callable field is called, with arguments if the
template gives some (``{{.Label "com.example"}}``), as Go calls a method. Go distinguishes "no
value at all" (a missing map key, printed ``<no value>``) from nil (printed ``<nil>``); here
the first is `MISSING`, the second ``None``.

Errors are `TemplateError`, with Go's wording, when parsing::

    template: :1: function "foo" not defined

and when running (line 1, byte 2, the node being evaluated)::

    template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type string
"""

from .errors import TemplateError
from .table import header_for, parse_table
from .template import Template, compile_template, render
from .values import MISSING

__all__ = ["MISSING", "Template", "TemplateError", "compile_template", "header_for",
           "parse_table", "render"]
