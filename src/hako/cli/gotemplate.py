"""Go's text/template, the part docker's ``--format`` and ``inspect -f`` use.

docker formats output by running a Go template over a value: the inspect JSON of an object, or
a "row" whose fields are docker's placeholders (``.ID``, ``.Names``, ``.Size`` …). This module
reproduces that: Go's template syntax and evaluation rules, Go's builtin functions, docker's
extra functions (json, join, split, upper, lower, title, truncate, pad) and Go's way of printing
values (``map[a:1]``, ``[x y]``, ``<no value>``, ``1e+06``).

It reads top to bottom as the three stages of Go's implementation:

* the lexer cuts the template into text and action tokens (``{{- `` and `` -}}`` trim the
  surrounding whitespace there, as Go's lexer does);
* the parser builds a tree of nodes, checking at parse time what Go checks at parse time
  (unknown functions, undefined variables, misplaced ``{{end}}``);
* the evaluator walks the tree over the data.

Data is JSON-like (dict, list, str, int, float, bool, None) or any Python object: a field
``.Name`` is a dict key or an attribute, and a callable field is called, with arguments if the
template gives some (``{{.Label "com.example"}}``), as Go calls a method.

Values Go has and Python lacks: Go distinguishes "no value at all" (a missing map key, printed
``<no value>``) from a nil value (printed ``<nil>``); here the first is `MISSING`, the second
``None``.

Errors are `TemplateError`, with Go's wording, when parsing::

    template: :1: function "foo" not defined

and when running (line 1, byte 2, the node being evaluated)::

    template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type string

Example::

    >>> render('{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}', {"Labels": {"b": 2, "a": 1}})
    'a=1 b=2 '
"""

from __future__ import annotations

import functools
import re
import unicodedata


class TemplateError(Exception):
    """A template that does not parse, or that fails while running. The message is Go's:
    ``template: :LINE: …`` for parse errors, ``template: :LINE:COL: executing "" at <…>: …``
    for execution errors (docker prints the first after "template parsing error: ")."""


class _Missing:
    """Go's invalid reflect.Value: what a missing map key evaluates to."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()

# ---------------------------------------------------------------------------------- public API


def render(template: str, data) -> str:
    """Run a Go template over ``data`` and return the text it produces."""
    return compile_template(template).execute(data)


@functools.lru_cache(maxsize=64)
def compile_template(template: str) -> "Template":
    """Parse once; list commands render the same template for every row. Parsed trees are
    never modified, so a cached one is safe to share."""
    return Template(template)


class Template:
    """A parsed template: ``Template(text).execute(data) -> str``."""

    def __init__(self, text: str, funcs: dict | None = None):
        self.text = text
        self.funcs = funcs if funcs is not None else _FUNCS
        parser = _Parser(text, self.funcs)
        self.body = parser.parse()
        self.defined = parser.defined

    def execute(self, data) -> str:
        out: list[str] = []
        _Exec(self, out).run(data)
        return "".join(out)


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
    template = Template(body, _HEADER_FUNCS)
    out: list[str] = []
    try:
        _Exec(template, out).run(_HeaderRow(headers))
    except TemplateError:
        pass
    return "".join(out)


class _HeaderRow:
    """The data a table header is rendered from: any field is its header text."""

    def __init__(self, headers: dict[str, str]):
        self._headers = headers

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return _HeaderCell(self._headers.get(name, name.upper()))


class _HeaderCell(str):
    """A header text that also accepts a call, for fields used as methods (``.Label "x"``)."""

    def __call__(self, *args):
        return self


# ---------------------------------------------------------------------------------- lexer


class _Node:
    """A small immutable record: positional fields named by ``__slots__``. (Plain classes
    rather than dataclasses keep the module quick to import, which the CLI pays for on every
    ``--format``.)"""

    __slots__ = ()

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self):
        fields = ", ".join(repr(getattr(self, name)) for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class _Token(_Node):
    __slots__ = ("kind", "val", "pos")
    kind: str  # one of the names below, or a keyword ("if", "end" …)
    val: str
    pos: int  # character offset in the template


TEXT, LEFT, RIGHT, SPACE, EOF, ERROR = "text", "{{", "}}", "space", "EOF", "error"
FIELD, VARIABLE, IDENT, DOT, NIL, BOOL = "field", "variable", "identifier", "dot", "nil", "bool"
STRING, RAWSTRING, CHAR, NUMBER = "string", "raw string", "char constant", "number"
LPAREN, RPAREN, PIPE, DECLARE, ASSIGN, CHARACTER = "(", ")", "|", ":=", "=", "character"
_KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "template",
             "with"}
# Tokens Go prints as <word> in "unexpected … in …" messages.
_ANGLE_KINDS = _KEYWORDS | {DOT, NIL}

_SPACES = " \t\r\n"
_NUMBER_START = "+-0123456789"


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


class _Lexer:
    """Cuts a template into tokens, following Go's text/template/parse/lex.go.

    A lexing error becomes an ERROR token (and ends the stream) rather than an exception, so
    that, as in Go, a parse error earlier in the template is the one reported."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.tokens: list[_Token] = []
        self.paren_depth = 0

    def run(self) -> list[_Token]:
        state = self.lex_text
        while state is not None:
            state = state()
        return self.tokens

    def emit(self, kind: str, start: int, end: int | None = None):
        end = self.pos if end is None else end
        self.tokens.append(_Token(kind, self.text[start:end], start))

    def error(self, message: str, start: int):
        self.tokens.append(_Token(ERROR, message, start))
        return None

    # -- outside actions

    def lex_text(self):
        text, start = self.text, self.pos
        left = text.find("{{", start)
        if left < 0:
            if start < len(text):
                self.emit(TEXT, start, len(text))
            self.tokens.append(_Token(EOF, "", len(text)))
            return None
        end = left
        if _left_trim(text, left + 2):
            end = len(text[start:left].rstrip(_SPACES)) + start
        if end > start:
            self.emit(TEXT, start, end)
        self.pos = left
        return self.lex_left_delim

    def lex_left_delim(self):
        text, left = self.text, self.pos
        self.pos += 2
        after_marker = 2 if _left_trim(text, self.pos) else 0
        if text.startswith("/*", self.pos + after_marker):
            self.pos += after_marker
            return self.lex_comment
        self.emit(LEFT, left)
        self.pos += after_marker
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self):
        start = self.pos
        close = self.text.find("*/", self.pos + 2)
        if close < 0:
            return self.error("unclosed comment", start)
        self.pos = close + 2
        delim, trim = self.at_right_delim()
        if not delim:
            return self.error("comment ends before closing delimiter", start)
        self.pos += (2 if trim else 0) + 2
        if trim:
            self.skip_leading_space()
        return self.lex_text

    def at_right_delim(self) -> tuple[bool, bool]:
        text, pos = self.text, self.pos
        if pos + 1 < len(text) and text[pos] in _SPACES and text[pos + 1] == "-" \
                and text.startswith("}}", pos + 2):
            return True, True
        return text.startswith("}}", pos), False

    def skip_leading_space(self):
        while self.pos < len(self.text) and self.text[self.pos] in _SPACES:
            self.pos += 1

    # -- inside actions

    def lex_inside_action(self):
        text = self.text
        delim, trim = self.at_right_delim()
        if delim:
            if self.paren_depth:
                return self.error("unclosed left paren", self.pos)
            if trim:
                self.pos += 2
            self.emit(RIGHT, self.pos, self.pos + 2)
            self.pos += 2
            if trim:
                self.skip_leading_space()
            return self.lex_text
        start = self.pos
        if start >= len(text):
            return self.error("unclosed action", start)
        ch = text[start]
        nxt = text[start + 1] if start + 1 < len(text) else ""
        if ch in _SPACES:
            return self.lex_space
        self.pos += 1
        if ch == "=":
            self.emit(ASSIGN, start)
        elif ch == ":":
            if nxt != "=":
                return self.error("expected :=", start)
            self.pos += 1
            self.emit(DECLARE, start)
        elif ch == "|":
            self.emit(PIPE, start)
        elif ch == '"':
            return self.lex_quote(start, '"', STRING, "unterminated quoted string")
        elif ch == "'":
            return self.lex_quote(start, "'", CHAR, "unterminated character constant")
        elif ch == "`":
            close = text.find("`", self.pos)
            if close < 0:
                return self.error("unterminated raw quoted string", start)
            self.pos = close + 1
            self.emit(RAWSTRING, start)
        elif ch == "$":
            return self.lex_field_or_variable(start, VARIABLE)
        elif ch == "." and nxt and not "0" <= nxt <= "9":  # Go: a "." at EOF lexes as a number
            return self.lex_field_or_variable(start, FIELD)
        elif ch in _NUMBER_START or ch == ".":
            self.pos = start
            return self.lex_number
        elif _is_alnum(ch):
            self.pos = start
            return self.lex_identifier
        elif ch == "(":
            self.paren_depth += 1
            self.emit(LPAREN, start)
        elif ch == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                return self.error("unexpected right paren", start)
            self.emit(RPAREN, start)
        elif ch.isascii() and ch.isprintable():
            self.emit(CHARACTER, start)  # "," in range declarations; anything else errs later
        else:
            return self.error(f"unrecognized character in action: {_go_rune(ch)}", start)
        return self.lex_inside_action

    def lex_space(self):
        start = self.pos
        self.skip_leading_space()
        # A space followed by "-}}" belongs to the closing delimiter.
        self.pos -= 1
        delim, trim = self.at_right_delim()
        if not (delim and trim):
            self.pos += 1
        if self.pos > start:
            self.emit(SPACE, start)
        return self.lex_inside_action

    def lex_quote(self, start: int, quote: str, kind: str, unterminated: str):
        text, pos = self.text, self.pos
        while True:
            if pos >= len(text) or text[pos] == "\n":
                return self.error(unterminated, start)
            ch = text[pos]
            pos += 1
            if ch == "\\":
                if pos >= len(text) or text[pos] == "\n":
                    return self.error(unterminated, start)
                pos += 1
            elif ch == quote:
                break
        self.pos = pos
        self.emit(kind, start)
        return self.lex_inside_action

    def at_terminator(self) -> bool:
        if self.pos >= len(self.text):
            return True
        ch = self.text[self.pos]
        return ch in _SPACES or ch in ".,|:()" or self.text.startswith("}}", self.pos)

    def lex_field_or_variable(self, start: int, kind: str):
        if self.at_terminator():  # a lone "." or "$"
            self.emit(DOT if kind == FIELD else VARIABLE, start)
            return self.lex_inside_action
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            return self.error(f"bad character {_go_rune(self.text[self.pos])}", start)
        self.emit(kind, start)
        return self.lex_inside_action

    def lex_identifier(self):
        start = self.pos
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            return self.error(f"bad character {_go_rune(self.text[self.pos])}", start)
        word = self.text[start:self.pos]
        if word in _KEYWORDS:
            self.emit(word, start)
        elif word == "nil":
            self.emit(NIL, start)
        elif word in ("true", "false"):
            self.emit(BOOL, start)
        else:
            self.emit(IDENT, start)
        return self.lex_inside_action

    def lex_number(self):
        start = self.pos
        text = self.text
        self.pos = _NUMBER_RE.match(text, start).end()
        bad = False
        if text[self.pos:self.pos + 1] in ("+", "-"):
            # Only a complex number (1+2i) may continue with a sign.
            self.pos = _NUMBER_RE.match(text, self.pos).end()
            bad = text[self.pos - 1] != "i"
        if self.pos < len(text) and _is_alnum(text[self.pos]):
            self.pos += 1  # Go's message shows the offending character too
            bad = True
        if bad:
            return self.error(f"bad number syntax: {_go_quote(text[start:self.pos])}", start)
        self.emit(NUMBER, start)
        return self.lex_inside_action


# Go's scanNumber: optional sign, then a decimal, hex, octal or binary literal with optional
# fraction and exponent (underscores allowed), and an optional imaginary "i".
_NUMBER_RE = re.compile(r"""[+-]?(?:
      0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]*)?
    | 0[oO][0-7_]*(?:\.[0-7_]*)?
    | 0[bB][01_]*(?:\.[01_]*)?
    | [0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]*)?
    )i?""", re.VERBOSE)


def _left_trim(text: str, pos: int) -> bool:
    """Whether "{{" at pos-2 is followed by Go's left trim marker "- "."""
    return text.startswith("-", pos) and pos + 1 < len(text) and text[pos + 1] in _SPACES


def _lex(text: str) -> list[_Token]:
    return _Lexer(text).run()


# ---------------------------------------------------------------------------------- nodes
#
# Every node knows its offset in the template (for "template: :1:7:" in execution errors) and
# prints itself as Go's String() does (for the "at <…>" part).


class _Text(_Node):
    __slots__ = ("pos", "text")
    pos: int
    text: str


class _Field(_Node):
    __slots__ = ("pos", "idents")
    pos: int
    idents: tuple[str, ...]

    def __str__(self):
        return "".join("." + ident for ident in self.idents)


class _Variable(_Node):
    __slots__ = ("pos", "idents")
    pos: int
    idents: tuple[str, ...]  # ("$x", "Field", …)

    def __str__(self):
        return ".".join(self.idents)


class _Dot(_Node):
    __slots__ = ("pos",)
    pos: int

    def __str__(self):
        return "."


class _Nil(_Node):
    __slots__ = ("pos",)
    pos: int

    def __str__(self):
        return "nil"


class _Literal(_Node):
    """A bool, number or string constant: ``value`` is what it evaluates to, ``text`` its
    spelling in the template."""

    __slots__ = ("pos", "text", "value", "is_int")
    pos: int
    text: str
    value: object
    is_int: bool  # a number usable where Go wants an int (3, 3.0, 'a')

    def __str__(self):
        return self.text


class _Identifier(_Node):
    __slots__ = ("pos", "name")
    pos: int
    name: str

    def __str__(self):
        return self.name


class _Chain(_Node):
    """Fields applied to a term that is not a field or variable: ``(index .A 0).Name``."""

    __slots__ = ("pos", "node", "fields")
    pos: int
    node: object
    fields: tuple[str, ...]

    def __str__(self):
        inner = f"({self.node})" if isinstance(self.node, _Pipe) else str(self.node)
        return inner + "".join("." + name for name in self.fields)


class _Command(_Node):
    __slots__ = ("pos", "args")
    pos: int
    args: tuple

    def __str__(self):
        return " ".join(f"({arg})" if isinstance(arg, _Pipe) else str(arg) for arg in self.args)


class _Pipe(_Node):
    __slots__ = ("pos", "decl", "is_assign", "cmds")
    pos: int
    decl: tuple[str, ...]  # variable names declared or assigned
    is_assign: bool
    cmds: tuple[_Command, ...]

    def __str__(self):
        text = ""
        if self.decl:
            text = ", ".join(self.decl) + (" = " if self.is_assign else " := ")
        return text + " | ".join(str(cmd) for cmd in self.cmds)


class _Action(_Node):
    __slots__ = ("pos", "pipe")
    pos: int
    pipe: _Pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


class _Control(_Node):
    """if, with and range: ``{{if pipe}}body{{else}}else_body{{end}}``."""

    __slots__ = ("pos", "kind", "pipe", "body", "else_body")
    pos: int
    kind: str
    pipe: _Pipe
    body: tuple
    else_body: tuple | None

    def __str__(self):
        text = "{{" + self.kind + " " + str(self.pipe) + "}}" + _list_str(self.body)
        if self.else_body is not None:
            text += "{{else}}" + _list_str(self.else_body)
        return text + "{{end}}"


class _Jump(_Node):
    """{{break}} or {{continue}} inside a range."""

    __slots__ = ("pos", "kind")
    pos: int
    kind: str

    def __str__(self):
        return "{{" + self.kind + "}}"


class _TemplateCall(_Node):
    __slots__ = ("pos", "name", "pipe")
    pos: int
    name: str
    pipe: _Pipe | None

    def __str__(self):
        tail = f" {self.pipe}" if self.pipe is not None else ""
        return "{{template " + _go_quote(self.name) + tail + "}}"


def _list_str(nodes) -> str:
    return "".join(node.text if isinstance(node, _Text) else str(node) for node in nodes)


class _End(_Node):
    __slots__ = ("pos",)
    pos: int

    def __str__(self):
        return "{{end}}"


class _Else(_Node):
    __slots__ = ("pos",)
    pos: int

    def __str__(self):
        return "{{else}}"


# ---------------------------------------------------------------------------------- parser


class _Parser:
    """Builds the node tree, following Go's text/template/parse/parse.go."""

    def __init__(self, text: str, funcs: dict):
        self.text = text
        self.funcs = funcs
        self.tokens = _lex(text)
        self.index = 0
        self.furthest = 0  # Go reports errors at the line of the last token it looked at
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.defined: dict[str, tuple] = {}

    # -- token stream

    def next(self) -> _Token:
        # The stream ends with EOF or ERROR; reading on past it keeps returning that token.
        last = len(self.tokens) - 1
        token = self.tokens[min(self.index, last)]
        self.furthest = max(self.furthest, min(self.index, last))
        self.index += 1
        return token

    def backup(self, to: int | None = None):
        self.index = self.index - 1 if to is None else to

    def peek(self) -> _Token:
        token = self.next()
        self.backup()
        return token

    def next_non_space(self) -> _Token:
        token = self.next()
        while token.kind == SPACE:
            token = self.next()
        return token

    def peek_non_space(self) -> _Token:
        token = self.next_non_space()
        self.backup()
        return token

    def expect(self, kind: str, context: str) -> _Token:
        token = self.next_non_space()
        if token.kind != kind:
            self.unexpected(token, context)
        return token

    # -- errors

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def error(self, message: str):
        line = self.line_of(self.tokens[self.furthest].pos)
        raise TemplateError(f"template: :{line}: {message}")

    def unexpected(self, token: _Token, context: str):
        """The error for a token that does not belong here; a lexing error is reported here
        too, which is why a parse error earlier in the template wins over it, as in Go."""
        if token.kind == ERROR:
            extra = ""
            if self.action_line and self.action_line != self.line_of(token.pos):
                extra = f" in action started at :{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action"):]  # not "unclosed action in action"
            self.error(token.val + extra)
        self.error(f"unexpected {_token_str(token)} in {context}")

    # -- structure

    def parse(self) -> tuple:
        body = []
        while self.peek().kind != EOF:
            if self.peek().kind == LEFT:
                start = self.index
                self.next()
                if self.next_non_space().kind == "define":
                    self.parse_definition()
                    continue
                self.backup(start)
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                self.error(f"unexpected {node}")
            body.append(node)
        return tuple(body)

    def parse_definition(self):
        token = self.next_non_space()
        if token.kind not in (STRING, RAWSTRING):
            self.unexpected(token, "define clause")
        name = self.unquote(token)
        self.expect(RIGHT, "define clause")
        outer_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = outer_vars
        if not isinstance(end, _End):
            self.error(f"unexpected {end} in define clause")
        self.add_definition(name, body)

    def add_definition(self, name: str, body: tuple):
        existing = self.defined.get(name)
        if existing and not _is_empty(existing) and not _is_empty(body):
            self.error(f"template: multiple definition of template {_go_quote(name)}")
        if existing is None or _is_empty(existing):
            self.defined[name] = body

    def item_list(self) -> tuple[tuple, object]:
        nodes = []
        while self.peek_non_space().kind != EOF:
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                return tuple(nodes), node
            nodes.append(node)
        self.error("unexpected EOF")

    def text_or_action(self):
        token = self.next_non_space()
        if token.kind == TEXT:
            return _Text(token.pos, token.val)
        if token.kind == LEFT:
            self.action_line = self.line_of(token.pos)
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(token, "input")

    def action(self):
        token = self.next_non_space()
        kind = token.kind
        if kind in ("if", "with", "range"):
            return self.control(kind)
        if kind in ("break", "continue"):
            following = self.next_non_space()
            if following.kind != RIGHT:
                self.unexpected(following, "{{" + kind + "}}")
            if not self.range_depth:
                self.error("{{" + kind + "}} outside {{range}}")
            return _Jump(token.pos, kind)
        if kind == "else":
            following = self.peek_non_space()
            if following.kind in ("if", "with"):
                return _Else(following.pos)
            return _Else(self.expect(RIGHT, "else").pos)
        if kind == "end":
            return _End(self.expect(RIGHT, "end").pos)
        if kind == "template":
            return self.template_call()
        if kind == "block":
            return self.block()
        self.backup()
        pos = self.peek().pos
        return _Action(pos, self.pipeline("command", RIGHT))

    def control(self, kind: str) -> _Control:
        saved_vars = len(self.vars)
        pipe = self.pipeline(kind, RIGHT)
        if kind == "range":
            self.range_depth += 1
        body, end = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_body = None
        if isinstance(end, _Else):
            # {{else if x}} is {{else}}{{if x}}…{{end}}{{end}} with the inner {{end}} implied.
            if kind in ("if", "with") and self.peek().kind == kind:
                self.next()
                else_body = (self.control(kind),)
            else:
                else_body, end = self.item_list()
                if not isinstance(end, _End):
                    self.error(f"expected end; found {end}")
        del self.vars[saved_vars:]
        return _Control(pipe.pos, kind, pipe, body, else_body)

    def template_call(self) -> _TemplateCall:
        token = self.next_non_space()
        if token.kind not in (STRING, RAWSTRING):
            self.unexpected(token, "template clause")
        name = self.unquote(token)
        pipe = None
        if self.next_non_space().kind != RIGHT:
            self.backup()
            pipe = self.pipeline("template clause", RIGHT)
        return _TemplateCall(token.pos, name, pipe)

    def block(self) -> _TemplateCall:
        """{{block "name" pipe}}default{{end}}: define "name" and call it right here."""
        token = self.next_non_space()
        if token.kind not in (STRING, RAWSTRING):
            self.unexpected(token, "block clause")
        name = self.unquote(token)
        pipe = self.pipeline("block clause", RIGHT)
        outer_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = outer_vars
        if not isinstance(end, _End):
            self.error(f"unexpected {end} in block clause")
        self.add_definition(name, body)
        return _TemplateCall(token.pos, name, pipe)

    # -- pipelines and commands

    def pipeline(self, context: str, end: str) -> _Pipe:
        pos = self.peek_non_space().pos
        decl: list[str] = []
        is_assign = False
        while self.peek_non_space().kind == VARIABLE:
            start = self.index
            variable = self.next_non_space()
            following = self.peek_non_space()
            if following.kind in (ASSIGN, DECLARE):
                is_assign = following.kind == ASSIGN
                self.next_non_space()
                decl.append(variable.val)
                self.vars.append(variable.val)
                break
            if following.kind == CHARACTER and following.val == ",":
                self.next_non_space()
                decl.append(variable.val)
                self.vars.append(variable.val)
                if context == "range" and len(decl) < 2:
                    if self.peek_non_space().kind in (VARIABLE, RIGHT, RPAREN):
                        continue
                    self.error("range can only initialize variables")
                self.error(f"too many declarations in {context}")
            self.backup(start)  # "$x" is an operand, not a declaration
            break
        cmds: list[_Command] = []
        while True:
            token = self.next_non_space()
            if token.kind == end:
                self.check_pipeline(cmds, context)
                return _Pipe(pos, tuple(decl), is_assign, tuple(cmds))
            if token.kind in (BOOL, CHAR, DOT, FIELD, IDENT, NUMBER, NIL, RAWSTRING, STRING,
                              VARIABLE, LPAREN):
                self.backup()
                cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, cmds: list[_Command], context: str):
        if not cmds:
            self.error(f"missing value for {context}")
        for stage, cmd in enumerate(cmds[1:], start=2):
            if isinstance(cmd.args[0], (_Literal, _Dot, _Nil)):
                self.error(f"non executable command in pipeline stage {stage}")

    def command(self) -> _Command:
        pos = self.peek_non_space().pos
        args = []
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                args.append(operand)
            token = self.next()
            if token.kind == SPACE:
                continue
            if token.kind in (RIGHT, RPAREN):
                self.backup()
            elif token.kind != PIPE:
                self.unexpected(token, "operand")
            break
        if not args:
            self.error("empty command")
        return _Command(pos, tuple(args))

    def operand(self):
        node = self.term()
        if node is None or self.peek().kind != FIELD:
            return node
        pos = self.peek().pos
        fields = []
        while self.peek().kind == FIELD:
            fields.append(self.next().val[1:])
        if isinstance(node, _Field):
            return _Field(pos, node.idents + tuple(fields))
        if isinstance(node, _Variable):
            return _Variable(pos, node.idents + tuple(fields))
        if isinstance(node, (_Literal, _Nil, _Dot)):
            self.error(f"unexpected . after term {_go_quote(str(node))}")
        return _Chain(pos, node, tuple(fields))

    def term(self):
        token = self.next_non_space()
        kind = token.kind
        if kind == IDENT:
            if token.val not in self.funcs:
                self.error(f"function {_go_quote(token.val)} not defined")
            return _Identifier(token.pos, token.val)
        if kind == DOT:
            return _Dot(token.pos)
        if kind == NIL:
            return _Nil(token.pos)
        if kind == VARIABLE:
            if token.val not in self.vars:
                self.error(f"undefined variable {_go_quote(token.val)}")
            return _Variable(token.pos, (token.val,))
        if kind == FIELD:
            return _Field(token.pos, (token.val[1:],))
        if kind == BOOL:
            return _Literal(token.pos, token.val, token.val == "true", False)
        if kind in (NUMBER, CHAR):
            return self.number(token)
        if kind == LPAREN:
            return self.pipeline("parenthesized pipeline", RPAREN)
        if kind in (STRING, RAWSTRING):
            return _Literal(token.pos, token.val, self.unquote(token), False)
        self.backup()
        return None

    def unquote(self, token: _Token) -> str:
        if token.kind == RAWSTRING:
            return token.val[1:-1].replace("\r", "")
        try:
            return _unquote_go(token.val[1:-1], '"')
        except ValueError:
            self.error("invalid syntax")

    def number(self, token: _Token) -> _Literal:
        text = token.val
        if token.kind == CHAR:
            try:
                value = _unquote_go(text[1:-1], "'")
            except ValueError:
                self.error("invalid syntax")
            if len(value) != 1:
                self.error(f"malformed character constant: {text}")
            return _Literal(token.pos, text, ord(value), True)
        try:
            value = _parse_go_number(text)
        except ValueError as exc:
            self.error(str(exc))
        is_int = isinstance(value, int) or value.is_integer()
        return _Literal(token.pos, text, value, is_int)


def _is_empty(body: tuple) -> bool:
    """Go's IsEmptyTree: only whitespace text (a definition may be replaced)."""
    return all(isinstance(node, _Text) and not node.text.strip() for node in body)


def _token_str(token: _Token) -> str:
    """A token as Go's item.String() prints it in "unexpected …" messages."""
    if token.kind == EOF:
        return "EOF"
    if token.kind in _ANGLE_KINDS:
        return f"<{token.val}>"
    if len(token.val) > 10:
        return _go_quote(token.val[:10]) + "..."
    return _go_quote(token.val)


def _parse_go_number(text: str) -> int | float:
    """A Go number literal as Go's parser reads it: an int when it parses as one (decimal,
    0x, 0o, 0b or leading-0 octal), else a float; ValueError with Go's message otherwise."""
    if not text.endswith("i"):  # complex numbers: no docker template uses them
        value = _go_int(text)
        if value is not None:
            return value
        value = _go_float(text)
        if value is not None:
            if not any(c in text for c in ".eEpP"):
                # Go: "it looks like an integer but only parses as a float" ("09", 1e30 digits)
                raise ValueError(f"integer overflow: {_go_quote(text)}")
            return value
    raise ValueError(f"illegal number syntax: {_go_quote(text)}")


def _go_int(text: str) -> int | None:
    body = text.lstrip("+-")
    if not body or "__" in body or body.endswith("_") or len(text) - len(body) > 1:
        return None
    lower = body.lower()
    try:
        if lower.startswith(("0x", "0o", "0b")):
            value = int(body, 0)
        elif len(body) > 1 and body[0] == "0":
            value = int(body.replace("_", ""), 8)
        else:
            value = int(body, 10)
    except ValueError:
        return None
    value = -value if text.startswith("-") else value
    if not -(1 << 63) <= value < (1 << 64):  # Go's int64 / uint64
        return None
    return value


def _go_float(text: str) -> float | None:
    body = text.lstrip("+-")
    if not body or "__" in body or body.endswith("_") or len(text) - len(body) > 1:
        return None
    try:
        if body.lower().startswith("0x"):
            if "p" not in body.lower():  # a hex float needs its binary exponent
                return None
            value = float.fromhex(body.replace("_", ""))
        else:
            value = float(body)
    except ValueError:
        return None
    if value == float("inf"):  # out of float64's range
        return None
    return -value if text.startswith("-") else value


_SIMPLE_UNESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                     "v": "\v", "\\": "\\"}


def _unquote_go(body: str, quote: str) -> str:
    """The value of a Go string or rune literal's body (strconv.Unquote without the quotes).
    Raises ValueError on a bad escape or an unescaped quote."""
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == quote:
            raise ValueError("unescaped quote")
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
            continue
        esc = body[i + 1: i + 2]
        i += 2
        if esc in _SIMPLE_UNESCAPES:
            out += _SIMPLE_UNESCAPES[esc].encode()
        elif esc == quote:
            out += esc.encode()
        elif esc in ("x", "u", "U"):
            size = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i: i + size]
            if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("bad escape")
            code = int(digits, 16)
            i += size
            if esc == "x":
                out.append(code)
            elif code > 0x10FFFF or 0xD800 <= code < 0xE000:
                raise ValueError("bad escape")
            else:
                out += chr(code).encode()
        elif esc and esc in "01234567":
            digits = body[i - 1: i + 2]
            if len(digits) != 3 or not all(c in "01234567" for c in digits) \
                    or int(digits, 8) > 255:
                raise ValueError("bad escape")
            out.append(int(digits, 8))
            i += 2
        else:
            raise ValueError("bad escape")
    return out.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------- evaluator


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_NO_FINAL = object()  # "no value piped in", distinct from a piped-in MISSING
_MAX_DEPTH = 100  # nested {{template}} calls, far below Python's recursion limit


class _Exec:
    """One run of a template, following Go's text/template/exec.go. ``node`` is the node being
    evaluated, named in error messages."""

    def __init__(self, template: Template, out: list[str], name: str = "", depth: int = 0):
        self.template = template
        self.funcs = template.funcs
        self.out = out
        self.name = name
        self.depth = depth
        self.vars: list[list] = []
        self.node = None

    def run(self, data, body: tuple | None = None):
        self.vars = [["$", data]]
        self.walk(data, self.template.body if body is None else body)

    # -- errors

    def at(self, node):
        self.node = node

    def error(self, message: str):
        """Raise Go's execution error: the location is in the source text (whose name is
        always "" for docker), the name is the template running, which a {{define}} names."""
        name = _go_quote(self.name)
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

    # -- statements

    def walk(self, dot, nodes):
        for node in nodes:
            if isinstance(node, _Text):
                self.out.append(node.text)
            elif isinstance(node, _Action):
                value = self.eval_pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.at(node)
                    self.out.append(_print_value(value))
            elif isinstance(node, _Control):
                if node.kind == "range":
                    self.walk_range(dot, node)
                else:
                    self.walk_if_or_with(dot, node)
            elif isinstance(node, _Jump):
                raise _Break() if node.kind == "break" else _Continue()
            elif isinstance(node, _TemplateCall):
                self.walk_template(dot, node)

    def walk_if_or_with(self, dot, node: _Control):
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if _truth(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot, node: _Control):
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

    def range_items(self, value, pipe: _Pipe) -> list:
        if isinstance(value, (list, tuple)):
            return list(enumerate(value))
        if isinstance(value, dict):
            # Go ranges over a map in sorted key order.
            return [(key, value[key]) for key in sorted(value, key=_sort_key)]
        if isinstance(value, int) and not isinstance(value, bool):
            if len(pipe.decl) > 1:
                self.error(f"can't use {value} to iterate over more than one variable")
            return [(i, i) for i in range(value)]
        if value is None or value is MISSING:
            return []
        self.error(f"range can't iterate over {_print_value(value)}")

    def set_range_vars(self, pipe: _Pipe, index, elem):
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

    def walk_template(self, dot, node: _TemplateCall):
        self.at(node)
        body = self.template.defined.get(node.name)
        if body is None:
            self.error(f"template {_go_quote(node.name)} not defined")
        if self.depth >= _MAX_DEPTH:
            self.error(f"exceeded maximum template depth ({_MAX_DEPTH})")
        value = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        # No dynamic scoping: the called template sees only $ (its dot).
        inner = _Exec(self.template, self.out, node.name, self.depth + 1)
        inner.run(value, body)

    # -- expressions

    def eval_pipeline(self, dot, pipe: _Pipe):
        self.at(pipe)
        value = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append([name, value])
        return value

    def eval_command(self, dot, cmd: _Command, final):
        first = cmd.args[0]
        if isinstance(first, _Field):
            self.at(first)
            return self.eval_field_chain(dot, dot, first, first.idents, cmd.args, final)
        if isinstance(first, _Chain):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, _Identifier):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, _Pipe):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, _Variable):
            return self.eval_variable(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, _Dot):
            return dot
        if isinstance(first, _Nil):
            self.error("nil is not a command")
        return self.literal(first)

    def literal(self, node: _Literal):
        if isinstance(node.value, int) and node.value >= 1 << 63:
            self.error(f"{node} overflows int")  # a uint64 constant, too big for Go's int
        return node.value

    def not_a_function(self, args, final):
        if len(args) > 1 or final is not _NO_FINAL:
            self.error(f"can't give argument to non-function {args[0]}")

    def eval_variable(self, dot, node: _Variable, args, final):
        self.at(node)
        value = self.var_value(node.idents[0])
        if len(node.idents) == 1:
            self.not_a_function(args or (node,), final)
            return value
        return self.eval_field_chain(dot, value, node, node.idents[1:], args, final)

    def eval_chain(self, dot, node: _Chain, args, final):
        self.at(node)
        if isinstance(node.node, _Nil):
            self.error(f"indirection through explicit nil in {node}")
        receiver = self.eval_arg(dot, node.node)
        return self.eval_field_chain(dot, receiver, node, node.fields, args, final)

    def eval_field_chain(self, dot, receiver, node, idents, args, final):
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, None, _NO_FINAL, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(self, dot, name: str, node, args, final, receiver):
        """``receiver.name``: a map key, an attribute, or a method call with ``args[1:]`` (and
        the piped-in ``final``) as its arguments."""
        has_args = (args is not None and len(args) > 1) or final is not _NO_FINAL
        if receiver is MISSING or receiver is None:
            # Go: a field of "no value" is "no value". (A field of a JSON null is an error in
            # Go's map evaluation, but docker first evaluates typed structs, where the fields
            # of an absent optional object also come out as <no value>.)
            return MISSING
        if isinstance(receiver, dict):
            if name not in receiver:
                if has_args:
                    self.error(f"{name} is not a method but has arguments")
                return MISSING
            value = receiver[name]
            if callable(value):
                return self.call_method(dot, value, name, node, args, final)
            if has_args:
                self.error(f"{name} is not a method but has arguments")
            return value
        if isinstance(receiver, _PLAIN_TYPES) or name.startswith("_"):
            self.error(f"can't evaluate field {name} in type {_go_type(receiver)}")
        try:
            value = getattr(receiver, name)
        except AttributeError:
            self.error(f"can't evaluate field {name} in type {_go_type(receiver)}")
        if callable(value):
            return self.call_method(dot, value, name, node, args, final)
        if has_args:
            # docker's row fields are Go methods without parameters; this is Go's message
            # for giving such a method arguments.
            count = (len(args) - 1 if args else 0) + (final is not _NO_FINAL)
            self.error(f"wrong number of args for {name}: want 0 got {count}")
        return value

    def call_method(self, dot, method, name: str, node, args, final):
        argv = [_as_arg(self.eval_arg(dot, arg)) for arg in (args or ())[1:]]
        if final is not _NO_FINAL:
            argv.append(_as_arg(final))
        self.at(node)
        try:
            return method(*argv)
        except TemplateError:
            raise
        except Exception as exc:  # a row method failing is a template error, as in Go
            self.error(f"error calling {name}: {exc}")

    def eval_function(self, dot, node: _Identifier, cmd, args, final):
        self.at(node)
        func = self.funcs[node.name]
        args = list(args[1:]) if args else []
        count = len(args) + (final is not _NO_FINAL)
        func.check_arity(self, node.name, count, len(args))
        if func.lazy:
            # and/or evaluate their arguments only as far as needed (Go 1.18+).
            return func.impl(self, dot, args, final)
        argv = []
        for i, arg in enumerate(args):
            value = self.eval_arg(dot, arg)
            argv.append(self.coerce(value, func.param(i), arg))
        if final is not _NO_FINAL:
            argv.append(self.coerce(final, func.param(len(args)), None))
        try:
            return func.impl(*argv)
        except Exception as exc:  # Go recovers a function's panic into this error too
            self.at(cmd)
            self.error(f"error calling {node.name}: {exc}")

    def eval_arg(self, dot, node):
        self.at(node)
        if isinstance(node, _Dot):
            return dot
        if isinstance(node, _Nil):
            return None
        if isinstance(node, _Field):
            return self.eval_field_chain(dot, dot, node, node.idents, (node,), _NO_FINAL)
        if isinstance(node, _Variable):
            return self.eval_variable(dot, node, None, _NO_FINAL)
        if isinstance(node, _Pipe):
            return self.eval_pipeline(dot, node)
        if isinstance(node, _Identifier):
            return self.eval_function(dot, node, node, None, _NO_FINAL)
        if isinstance(node, _Chain):
            return self.eval_chain(dot, node, None, _NO_FINAL)
        return self.literal(node)

    def coerce(self, value, kind: str, node):
        """Check an argument against a function's parameter type, as Go's reflection does,
        with Go's message when it does not fit. The error names the node evaluated last, as
        Go's does (for ``(not "x")`` that is ``"x"``)."""
        if kind == "any":
            return _as_arg(value)
        if isinstance(node, _Nil):
            if kind == "strs":
                return []  # a nil []string
            self.error(f"cannot assign nil to {_GO_PARAM_NAMES[kind]}")
        if isinstance(node, _Literal):
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
            if not isinstance(value, _PLAIN_TYPES) and value is not None:
                return str(value)  # a row object with a String() of its own
        elif kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif kind == "strs":
            if value is None:
                return []
            if isinstance(value, (list, tuple)):
                return [item if isinstance(item, str) else _print_value(item) for item in value]
        self.error(f"wrong type for value; expected {_GO_PARAM_NAMES[kind]}; "
                   f"got {_go_type(value)}")


_PLAIN_TYPES = (str, int, float, bool, list, tuple, dict)
_GO_PARAM_NAMES = {"str": "string", "int": "int", "strs": "[]string"}


def _as_arg(value):
    """A value passed as Go's interface{}: "no value" becomes nil."""
    return None if value is MISSING else value


def _truth(value) -> bool:
    """Go's isTrue: false, 0, nil, and empty strings, lists and maps are false."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, (bool, int, float)):
        return value != 0
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return True


def _sort_key(key):
    # Go sorts map keys by value; numbers before strings is only ever a tie-breaker here.
    return (isinstance(key, str), key)


# ---------------------------------------------------------------------------------- functions


class _CallError(Exception):
    """A function's own error, reported as "error calling NAME: …"."""


class _Func:
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
        if i >= len(self.params):
            return self.params[-1]
        return self.params[i]

    def check_arity(self, state: _Exec, name: str, count: int, given: int):
        if self.variadic:
            fixed = len(self.params) - 1
            if count < fixed:
                state.error(f"wrong number of args for {name}: want at least {fixed} "
                            f"got {given}")
        elif count != len(self.params):
            state.error(f"wrong number of args for {name}: want {len(self.params)} got {count}")


def _and_or(want: bool):
    def impl(state: _Exec, dot, args, final):
        value = MISSING
        for arg in args:
            # and/or take reflect.Values in Go, where a nil literal is "no value".
            value = MISSING if isinstance(arg, _Nil) else state.eval_arg(dot, arg)
            if _truth(value) == want:
                return value
        if final is not _NO_FINAL:
            value = final
        return value
    return impl


def _not(value):
    return not _truth(value)


def _len(value):
    if value is None:
        raise _CallError("len of nil pointer")
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))  # Go's len counts bytes
    if isinstance(value, (list, tuple, dict)):
        return len(value)
    raise _CallError(f"len of type {_go_type(value)}")


def _index(item, *indexes):
    if item is None:
        if indexes and all(isinstance(i, str) for i in indexes):
            # docker's structs type labels as map[string]string, and a nil one indexes to "".
            return ""
        raise _CallError("index of untyped nil")
    for index in indexes:
        if item is None or item is MISSING:
            raise _CallError("index of nil pointer")
        if isinstance(item, (list, tuple, str)):
            sequence = item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item
            position = _index_arg(index, len(sequence), "slice/array")
            if position == len(sequence):  # past indexArg's check, caught by reflect
                kind = "string" if isinstance(item, str) else "slice"
                raise _CallError(f"reflect: {kind} index out of range")
            item = sequence[position]
        elif isinstance(item, dict):
            if not isinstance(index, str):
                raise _CallError(f"value has type {_go_type(index)}; should be string")
            if index in item:
                item = item[index]
            elif all(isinstance(v, str) for v in item.values()):
                item = ""  # the zero value of a map[string]string, which labels are in docker
            else:
                item = MISSING
        else:
            raise _CallError(f"can't index item of type {_go_type(item)}")
    return item


def _index_arg(index, length: int, what: str, cap: int | None = None) -> int:
    if index is None:
        raise _CallError(f"cannot index {what} with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise _CallError(f"cannot index {what} with type {_go_type(index)}")
    if index < 0 or index > (length if cap is None else cap):
        raise _CallError(f"index out of range: {index}")
    return index


def _slice(item, *indexes):
    if item is None:
        raise _CallError("slice of untyped nil")
    if len(indexes) > 3:
        raise _CallError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _CallError("cannot 3-index slice a string")
        data = item.encode("utf-8", "surrogatepass")
    elif isinstance(item, (list, tuple)):
        data = item
    else:
        raise _CallError(f"can't slice item of type {_go_type(item)}")
    bounds = [0, len(data)]
    for i, index in enumerate(indexes):
        bounds_i = _index_arg(index, len(data), "slice/array", cap=len(data))
        if i < 2:
            bounds[i] = bounds_i
    if bounds[0] > bounds[1]:
        raise _CallError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if len(indexes) == 3 and indexes[1] > indexes[2]:
        raise _CallError(f"invalid slice index: {indexes[1]} > {indexes[2]}")
    result = data[bounds[0]:bounds[1]]
    if isinstance(item, str):
        return result.decode("utf-8", "replace")
    return list(result)


def _basic_kind(value):
    if value is None or value is MISSING:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return None


def _eq(first, *others):
    if not others:
        raise _CallError("missing argument for comparison")
    k1 = _basic_kind(first)
    for other in others:
        k2 = _basic_kind(other)
        if k1 != k2:
            if k1 != "invalid" and k2 != "invalid":
                raise _CallError("incompatible types for comparison")
            continue
        if k1 is None:
            if isinstance(first, (list, tuple, dict)) or isinstance(other, (list, tuple, dict)):
                raise _CallError(f"non-comparable type {_print_value(first)}: "
                                 f"{_go_type(first)}")
            if first is other or first == other:
                return True
        elif k1 == "invalid" or first == other:
            return True
    return False


def _ne(first, second):
    return not _eq(first, second)


def _lt(first, second):
    k1, k2 = _basic_kind(first), _basic_kind(second)
    if k1 in (None, "invalid") or k2 in (None, "invalid"):
        raise _CallError("invalid type for comparison")
    if k1 != k2:
        raise _CallError("incompatible types for comparison")
    if k1 == "bool":
        raise _CallError("invalid type for comparison")
    return first < second


def _le(first, second):
    return _lt(first, second) or _eq(first, second)


def _gt(first, second):
    return not _le(first, second)


def _ge(first, second):
    return not _lt(first, second)


def _call(func, *args):
    if func is None:
        raise _CallError("call of nil")
    if not callable(func):
        raise _CallError(f"non-function {_format_v(func)} of type {_go_type(func)}")
    try:
        return func(*args)
    except Exception as exc:
        raise _CallError(str(exc)) from None


def _print(*args):
    return _sprint(args)


def _println(*args):
    return " ".join(_print_value(arg) for arg in args) + "\n"


def _printf(fmt, *args):
    return _sprintf(fmt, args)


def _escape_args(args) -> str:
    """Go's evalArgs for html/js/urlquery: a lone string as is, else fmt.Sprint of all, where
    a nil is first turned into the string "<no value>"."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _sprint(["<no value>" if arg is None else arg for arg in args])


def _html(*args):
    text = _escape_args(args)
    return "".join(_HTML_ESCAPES.get(ch, ch) for ch in text)


_HTML_ESCAPES = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;",
                 "\0": "\ufffd"}


def _js(*args):
    text = _escape_args(args)
    out = []
    for ch in text:
        if ch in _JS_ESCAPES:
            out.append(_JS_ESCAPES[ch])
        elif ch < " ":
            out.append("\\u%04X" % ord(ch))
        elif ch.isascii() or ch.isprintable():
            out.append(ch)
        else:
            out.append("\\u%04X" % ord(ch))
    return "".join(out)


_JS_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
               "&": "\\u0026", "=": "\\u003D"}


def _urlquery(*args):
    from urllib.parse import quote_plus
    return quote_plus(_escape_args(args), safe="")


# docker's own functions (cli/templates/templates.go).


def _json(value):
    return _go_json(value)


def _split(text: str, sep: str):
    if sep == "":
        return list(text)
    return text.split(sep)


def _join(items, sep: str):
    return sep.join(items)


def _title(text: str):
    """Go's strings.Title: upper-case the first letter of each word (words are split at
    anything but letters, digits and "_")."""
    out = []
    prev = " "
    for ch in text:
        out.append(_one_char(ch.title(), ch) if _is_separator(prev) else ch)
        prev = ch
    return "".join(out)


def _is_separator(ch: str) -> bool:
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    if ch.isalpha() or unicodedata.category(ch) == "Nd":
        return False
    return ch.isspace()


def _one_char(mapped: str, original: str) -> str:
    # Go maps rune by rune; Python's "ß".upper() == "SS" has no one-rune equivalent.
    return mapped if len(mapped) == 1 else original


def _upper(text: str):
    return "".join(_one_char(ch.upper(), ch) for ch in text)


def _lower(text: str):
    return "".join(_one_char(ch.lower(), ch) for ch in text)


def _pad(text: str, prefix: int, suffix: int):
    if text == "":
        return text
    if prefix < 0 or suffix < 0:
        raise _CallError("strings: negative Repeat count")
    return " " * prefix + text + " " * suffix


def _truncate(text: str, length: int):
    data = text.encode("utf-8", "surrogatepass")
    if len(data) < length:
        return text
    if length < 0:
        raise _CallError(f"runtime error: slice bounds out of range [:{length}]")
    return data[:length].decode("utf-8", "replace")  # docker slices bytes, as Go's s[:n]


def _identity(value, *_ignored):
    return value


_FUNCS: dict[str, _Func] = {
    # Go's builtins
    "and": _Func(_and_or(False), ("any", "any"), variadic=True, lazy=True),
    "or": _Func(_and_or(True), ("any", "any"), variadic=True, lazy=True),
    "not": _Func(_not, ("any",)),
    "len": _Func(_len, ("any",)),
    "index": _Func(_index, ("any", "any"), variadic=True),
    "slice": _Func(_slice, ("any", "any"), variadic=True),
    "print": _Func(_print, ("any",), variadic=True),
    "printf": _Func(_printf, ("str", "any"), variadic=True),
    "println": _Func(_println, ("any",), variadic=True),
    "eq": _Func(_eq, ("any", "any"), variadic=True),
    "ne": _Func(_ne, ("any", "any")),
    "lt": _Func(_lt, ("any", "any")),
    "le": _Func(_le, ("any", "any")),
    "gt": _Func(_gt, ("any", "any")),
    "ge": _Func(_ge, ("any", "any")),
    "call": _Func(_call, ("any", "any"), variadic=True),
    "html": _Func(_html, ("any",), variadic=True),
    "js": _Func(_js, ("any",), variadic=True),
    "urlquery": _Func(_urlquery, ("any",), variadic=True),
    # docker's
    "json": _Func(_json, ("any",)),
    "split": _Func(_split, ("str", "str")),
    "join": _Func(_join, ("strs", "str")),
    "title": _Func(_title, ("str",)),
    "lower": _Func(_lower, ("str",)),
    "upper": _Func(_upper, ("str",)),
    "pad": _Func(_pad, ("str", "int", "int")),
    "truncate": _Func(_truncate, ("str", "int")),
}

# docker's HeaderFunctions: for the header line, its own functions return their first argument.
_HEADER_FUNCS = dict(_FUNCS)
for _name in ("json", "split", "join", "title", "lower", "upper", "pad", "truncate"):
    _HEADER_FUNCS[_name] = _Func(_identity, ("any",) * len(_FUNCS[_name].params))
del _name


# ---------------------------------------------------------------------------------- Go printing


def _print_value(value) -> str:
    """A value as Go's template output prints it (fmt's %v; "no value" as <no value>)."""
    if value is MISSING:
        return "<no value>"
    return _format_v(value)


def _format_v(value) -> str:
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float_g(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_format_v(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{_format_v(k)}:{_format_v(value[k])}"
                                 for k in sorted(value, key=_sort_key)) + "]"
    if value is MISSING:
        return "<nil>"
    return str(value)


def _sprint(args) -> str:
    """fmt.Sprint: a space between two operands when neither is a string."""
    out = []
    prev_string = False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i and not is_string and not prev_string:
            out.append(" ")
        out.append(_format_v(arg))
        prev_string = is_string
    return "".join(out)


def _go_type(value) -> str:
    """The Go type a value would have in docker's decoded JSON."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def _go_rune(ch: str) -> str:
    """Go's %#U: U+0021 '!'."""
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


def _go_quote(text: str, ascii_only: bool = False) -> str:
    """Go's strconv.Quote (or QuoteToASCII, which escapes all non-ASCII)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append("\\x%02x" % code)
        elif code < 0x80 or (ch.isprintable() and not ascii_only):
            out.append(ch)
        elif code < 0x10000:
            out.append("\\u%04x" % code)
        else:
            out.append("\\U%08x" % code)
    out.append('"')
    return "".join(out)


_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                  "\v": "\\v"}


def _float_digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as abs(value), and the position of the
    decimal point: 1234.5 -> ("12345", 4), 0.001 -> ("1", -2). Python's repr is the same
    shortest round-trip algorithm Go's strconv uses with precision -1."""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:
        return "0", 1
    return digits, point


def _go_float_e(digits: str, point: int, negative: bool) -> str:
    exp = point - 1 if digits != "0" else 0
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return ("-" if negative else "") + f"{mantissa}e{sign}{abs(exp):02d}"


def _go_float_f(digits: str, point: int, negative: bool) -> str:
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    return ("-" if negative else "") + text


def _is_negative(value: float) -> bool:
    return value < 0 or (value == 0 and str(value).startswith("-"))


def _go_float_g(value: float) -> str:
    """Go's %v (shortest %g) for a float64: 1e+06, 123456, 1.5, 1e-05."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    digits, point = _float_digits(value)
    negative = _is_negative(value)
    exp = point - 1
    # Shortest %g switches to an exponent below 1e-4 and from 1e+06 (strconv: "if precision
    # was the shortest possible, use precision 6 for this decision").
    if digits != "0" and (exp < -4 or exp >= 6):
        return _go_float_e(digits, point, negative)
    return _go_float_f(digits, point, negative)


# -- printf


class _Spec:
    """One verb's flags, width and precision. For %v, "+" and "#" mean something else in Go
    (field names, Go syntax) and are moved to plus_v and sharp_v."""

    __slots__ = ("minus", "plus", "sharp", "space", "zero", "plus_v", "sharp_v", "width",
                 "prec")

    def __init__(self, minus: bool = False, width: int | None = None):
        self.minus = minus
        self.plus = self.sharp = self.space = self.zero = self.plus_v = self.sharp_v = False
        self.width = width
        self.prec: int | None = None


def _sprintf(fmt: str, args) -> str:
    """fmt.Sprintf with Go's verbs, explicit argument indexes (%[2]d) and its in-band error
    notes (%!d(string=x), %!s(MISSING), %!(EXTRA …)), following Go's doPrintf."""
    out: list[str] = []
    state = _PrintfState(fmt, list(args))
    i, end = 0, len(fmt)
    while i < end:
        percent = fmt.find("%", i)
        if percent < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:percent])
        i = percent + 1
        spec = _Spec()
        while i < end and fmt[i] in "#0+- ":
            flag = fmt[i]
            spec.sharp |= flag == "#"
            spec.plus |= flag == "+"
            spec.space |= flag == " "
            spec.minus |= flag == "-"
            spec.zero |= flag == "0" and not spec.minus  # "-" overrides "0"
            if flag == "-":
                spec.zero = False
            i += 1
        state.good_index = True
        i, after_index = state.arg_index(i)
        if i < end and fmt[i] == "*":
            i += 1
            spec.width = state.int_arg(out)
            if spec.width is not None and spec.width < 0:
                spec.minus, spec.zero, spec.width = True, False, -spec.width
            after_index = False
        else:
            i, spec.width = _parse_num(fmt, i)
            if after_index and spec.width is not None:
                state.good_index = False  # "%[3]2d"
        if i + 1 < end and fmt[i] == ".":
            i += 1
            if after_index:
                state.good_index = False  # "%[3].2d"
            i, after_index = state.arg_index(i)
            if i < end and fmt[i] == "*":
                i += 1
                spec.prec = state.int_arg(out, precision=True)
                after_index = False
            else:
                i, spec.prec = _parse_num(fmt, i)
                spec.prec = spec.prec or 0
        if not after_index:
            i, after_index = state.arg_index(i)
        if i >= end:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif not state.good_index:
            out.append(f"%!{verb}(BADINDEX)")
        elif state.next >= len(state.args):
            out.append(f"%!{verb}(MISSING)")
        else:
            if verb == "v":
                spec.sharp_v, spec.sharp = spec.sharp, False
                spec.plus_v, spec.plus = spec.plus, False
            out.append(_format_arg(state.args[state.next], verb, spec))
            state.next += 1
    if not state.reordered and state.next < len(state.args):
        extra = ", ".join("<nil>" if arg is None else f"{_go_type(arg)}={_format_v(arg)}"
                          for arg in state.args[state.next:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


class _PrintfState:
    """The argument cursor of one Sprintf call."""

    def __init__(self, fmt: str, args: list):
        self.fmt = fmt
        self.args = args
        self.next = 0
        self.reordered = False
        self.good_index = True

    def arg_index(self, i: int) -> tuple[int, bool]:
        """Parse "[n]" at i: the next argument becomes the n-th (1-based)."""
        fmt = self.fmt
        if i >= len(fmt) or fmt[i] != "[":
            return i, False
        self.reordered = True
        close = fmt.find("]", i)
        if close < 0:
            self.good_index = False
            return i + 1, False
        digits = fmt[i + 1:close]
        if digits.isdigit() and digits.isascii() and 0 < int(digits) <= len(self.args):
            self.next = int(digits) - 1
            return close + 1, True
        self.good_index = False
        return close + 1, bool(digits.isdigit() and digits.isascii())

    def int_arg(self, out: list[str], precision: bool = False) -> int | None:
        """A "*" width or precision taken from the arguments."""
        value = None
        if self.next < len(self.args):
            arg = self.args[self.next]
            if isinstance(arg, int) and not isinstance(arg, bool):
                value = arg
            self.next += 1
        if precision and value is not None and value < 0:
            value = None  # a negative precision means none
        if value is None:
            out.append("%!(BADPREC)" if precision else "%!(BADWIDTH)")
        return value


def _parse_num(fmt: str, i: int) -> tuple[int, int | None]:
    start = i
    while i < len(fmt) and "0" <= fmt[i] <= "9":
        i += 1
    return i, (int(fmt[start:i]) if i > start else None)


def _bad_verb(value, verb: str, spec: _Spec) -> str:
    """Go's note for a verb that does not fit the value: %!d(string=abc). The value inside
    is printed with %v and the verb's own flags, as Go does."""
    if value is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({_go_type(value)}={_format_arg(value, 'v', spec)})"


def _pad_to(text: str, spec: _Spec, numeric: bool = False) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero:
        if numeric and text[:1] in "+- ":
            return text[0] + "0" * fill + text[1:]
        return "0" * fill + text
    return " " * fill + text


def _format_arg(value, verb: str, spec: _Spec) -> str:
    if verb == "T":
        if value is None:
            return _pad_to("<nil>", spec)
        return _format_str(_go_type(value), "s", spec)
    if spec.sharp_v and (value is None or isinstance(value, (str, list, tuple, dict))):
        if isinstance(value, str) and spec.prec is not None:
            value = value[:spec.prec]
        return _pad_to(_go_syntax(value), spec)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_format_arg(item, verb, spec) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{_format_arg(k, verb, spec)}:{_format_arg(value[k], verb, spec)}"
                                 for k in sorted(value, key=_sort_key)) + "]"
    if value is None:
        return _pad_to("<nil>", spec) if verb == "v" else _bad_verb(value, verb, spec)
    if isinstance(value, bool):
        if verb in "vt":
            return _pad_to("true" if value else "false", spec)
        return _bad_verb(value, verb, spec)
    if isinstance(value, int):
        return _format_int(value, verb, spec)
    if isinstance(value, float):
        return _format_float(value, verb, spec)
    if isinstance(value, str):
        return _format_str(value, verb, spec)
    if verb in "vs":
        return _pad_to(str(value), spec)
    return _bad_verb(value, verb, spec)


def _go_syntax(value, nested: bool = False) -> str:
    """%#v: the value as Go source."""
    if value is None:
        return "interface {}(nil)" if nested else "<nil>"
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, (list, tuple)):
        return "[]interface {}{" + ", ".join(_go_syntax(v, True) for v in value) + "}"
    if isinstance(value, dict):
        items = ", ".join(f"{_go_syntax(k, True)}:{_go_syntax(value[k], True)}"
                          for k in sorted(value, key=_sort_key))
        return "map[string]interface {}{" + items + "}"
    return _format_v(value)


def _sign(negative: bool, spec: _Spec) -> str:
    if negative:
        return "-"
    return "+" if spec.plus else " " if spec.space else ""


def _format_int(value: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return _pad_to(chr(value) if 0 <= value <= 0x10FFFF else "\ufffd", spec)
    if verb == "q":
        return _pad_to(_go_quote_rune(value, ascii_only=spec.plus), spec)
    if verb == "U":
        code = value & (1 << 64) - 1  # Go formats %U of a negative int as its uint64
        text = f"U+{code:0{max(4, spec.prec or 0)}X}"
        if spec.sharp and code <= 0x10FFFF and chr(code).isprintable():
            text += f" '{chr(code)}'"
        return _pad_to(text, _Spec(minus=spec.minus, width=spec.width))
    if verb in "eEfFgG":
        return _bad_verb(value, verb, spec)
    base = {"d": 10, "v": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}.get(verb)
    if base is None:
        return _bad_verb(value, verb, spec)
    magnitude = abs(value)
    plain = _Spec(minus=spec.minus, width=spec.width)  # zeros are placed below, not by padding
    # Go's fmtInteger: a precision is a minimum digit count; without one, the "0" flag
    # asks for zeros up to the width (less a sign), and a prefix like 0x comes on top.
    if spec.prec is not None:
        if spec.prec == 0 and magnitude == 0:
            return _pad_to("", plain)
        min_digits = spec.prec
    elif spec.zero and spec.width is not None:
        min_digits = spec.width - (1 if value < 0 or spec.plus or spec.space else 0)
    else:
        min_digits = 0
    digits = {2: "{:b}", 8: "{:o}", 10: "{:d}", 16: "{:x}"}[base].format(magnitude)
    if verb == "X":
        digits = digits.upper()
    digits = digits.rjust(min_digits, "0")
    prefix = ""
    if verb == "O":
        prefix = "0o"
    elif spec.sharp:
        prefix = {"b": "0b", "x": "0x", "X": "0X"}.get(verb, "")
        if verb == "o" and not digits.startswith("0"):
            prefix = "0"
    return _pad_to(_sign(value < 0, spec) + prefix + digits, plain)


def _format_float(value: float, verb: str, spec: _Spec) -> str:
    if verb not in "vgGeEfFxXb":
        return _bad_verb(value, verb, spec)
    negative = _is_negative(value)
    if value != value or value in (float("inf"), float("-inf")):
        text = "NaN" if value != value else ("-Inf" if negative else "+Inf")
        if text != "NaN" and not negative:
            text = text if spec.plus else ("Inf" if not spec.space else " Inf")
        return _pad_to(text, _Spec(minus=spec.minus, width=spec.width))
    magnitude = abs(value)
    if verb == "b":
        text = _go_float_binary(magnitude)
    elif verb in "xX":
        text = _go_float_hex(magnitude, spec.prec)
        if verb == "X":
            text = text.upper()
    elif verb in "vgG":
        text = _go_float_g(magnitude) if spec.prec is None else "%.*g" % (spec.prec or 1,
                                                                         magnitude)
        if verb == "G":
            text = text.upper()
    else:
        text = ("%.*" + verb) % (6 if spec.prec is None else spec.prec, magnitude)
    if spec.sharp and verb != "b":
        digits = 0
        if verb in "vgGx":
            digits = 6 if spec.prec is None else spec.prec
        text = _go_sharp_float(text, digits, hex_digits=verb in "xX")
    return _pad_to(_sign(negative, spec) + text, spec, numeric=True)


def _go_sharp_float(text: str, digits: int, hex_digits: bool) -> str:
    """The "#" flag on a float: always a decimal point, and for %g/%v/%x trailing zeros up
    to ``digits`` significant digits (Go's fmtFloat post-processing)."""
    tail = ""
    has_point = False
    seen_nonzero = False
    for i, ch in enumerate(text):
        if ch == ".":
            has_point = True
        elif ch in "pP" or (ch in "eE" and not hex_digits):
            text, tail = text[:i], text[i:]
            break
        else:  # Go counts the "x" of 0x as a significant digit too
            seen_nonzero = seen_nonzero or ch != "0"
            if seen_nonzero:
                digits -= 1
    if not has_point:
        if text == "0":
            digits -= 1
        text += "."
    return text + "0" * max(digits, 0) + tail


def _go_float_hex(magnitude: float, prec: int | None) -> str:
    """%x of a float: 3.5 -> 0x1.cp+01; a precision rounds the mantissa to that many hex
    digits (half to even), as Go's fmtX does."""
    mantissa, _, exponent = magnitude.hex().partition("p")
    lead, _, fraction = mantissa[2:].partition(".")
    exp = int(exponent)
    if magnitude == 0:
        fraction = ""
    if prec is None:
        fraction = fraction.rstrip("0")
    elif prec < len(fraction):
        shift = 4 * (len(fraction) - prec)
        bits, rest = divmod(int(fraction, 16), 1 << shift)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and bits & 1):
            bits += 1
        if bits >> (4 * prec):  # 1.fff… rounded up to 2.0
            bits, exp = 0, exp + 1
        fraction = f"{bits:0{prec}x}" if prec else ""
    else:
        fraction = fraction.ljust(prec, "0")
    point = "." + fraction if fraction else ""
    return f"0x{lead}{point}p{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _go_float_binary(magnitude: float) -> str:
    """%b of a float: the integer mantissa and the binary exponent, 7074231776675438p-51."""
    if magnitude == 0:
        return "0p-1074"
    numerator, denominator = magnitude.as_integer_ratio()
    exp = -(denominator.bit_length() - 1)
    # Scale to Go's 53-bit mantissa.
    while numerator < (1 << 52) and exp > -1074:
        numerator, exp = numerator << 1, exp - 1
    while numerator >= (1 << 53):
        numerator, exp = numerator >> 1, exp + 1
    return f"{numerator}p{'-' if exp < 0 else '+'}{abs(exp)}"


def _format_str(value: str, verb: str, spec: _Spec) -> str:
    if verb in "vs":
        text = value if spec.prec is None else value[:spec.prec]
        return _pad_to(text, spec)
    if verb == "q":
        text = value if spec.prec is None else value[:spec.prec]
        if spec.sharp and "`" not in text and all(c == "\t" or c.isprintable() for c in text):
            return _pad_to("`" + text + "`", spec)
        return _pad_to(_go_quote(text, ascii_only=spec.plus), spec)
    if verb in "xX":
        data = value.encode("utf-8", "surrogatepass")
        if spec.prec is not None:
            data = data[:spec.prec]
        hexed = ["%02x" % b for b in data]
        if spec.sharp:
            hexed = ["0x" + h for h in hexed] if spec.space else (["0x" + "".join(hexed)]
                                                                 if hexed else [])
        text = (" " if spec.space else "").join(hexed)
        return _pad_to(text.upper() if verb == "X" else text, spec)
    return _bad_verb(value, verb, spec)


def _go_quote_rune(code: int, ascii_only: bool = False) -> str:
    if not 0 <= code <= 0x10FFFF or 0xD800 <= code < 0xE000:
        code = 0xFFFD
    ch = chr(code)
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + _go_quote(ch, ascii_only)[1:-1] + "'"


# -- json


def _go_json(value) -> str:
    """JSON as docker's ``json`` template function writes it: Go's encoder, compact, with
    SetEscapeHTML(false) (so ``<>&`` stay as they are; U+2028/U+2029 are still escaped), map
    keys in the order given (the API's), numbers as Go writes float64s."""
    out: list[str] = []
    _json_into(value, out)
    return "".join(out)


def _json_into(value, out: list[str]):
    if value is None or value is MISSING:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_json_float(value))
    elif isinstance(value, str):
        out.append(_json_string(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _json_into(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_json_string(str(key)))
            out.append(":")
            _json_into(item, out)
        out.append("}")
    elif callable(getattr(value, "as_dict", None)):
        _json_into(value.as_dict(), out)  # a row object's JSON form
    else:
        out.append(_json_string(str(value)))


def _json_string(text: str) -> str:
    import json
    encoded = json.dumps(text, ensure_ascii=False)
    return encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _json_float(value: float) -> str:
    """encoding/json's float64: shortest digits, exponent form below 1e-6 and from 1e21,
    with a one-digit negative exponent ("1e-7")."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"  # Go refuses these; null is the closest a template can show
    digits, point = _float_digits(value)
    negative = _is_negative(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = _go_float_e(digits, point, negative)
        mantissa, _, exp = text.partition("e")
        sign, number = exp[0], exp[1:].lstrip("0") or "0"
        return f"{mantissa}e{sign}{number}"
    return _go_float_f(digits, point, negative)
