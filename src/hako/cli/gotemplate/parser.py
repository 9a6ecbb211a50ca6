"""The parser: tokens to a tree of `nodes`, following Go's text/template/parse/parse.go.

It checks at parse time what Go checks at parse time (unknown functions, undefined variables,
a misplaced ``{{end}}``), so a template that parses in Go parses here and one that does not
fails with Go's message::

    Parser("{{foo}}", funcs).parse()   # TemplateError: template: :1: function "foo" not defined

``{{define}}`` and ``{{block}}`` bodies are collected in ``Parser.defined`` by name.
"""

from __future__ import annotations

from .errors import TemplateError
from .lexer import (ASSIGN, BOOL, CHAR, CHARACTER, DECLARE, DOT, EOF, ERROR, FIELD, IDENT, LEFT,
                    LPAREN, NIL, NUMBER, PIPE, RAWSTRING, RIGHT, RPAREN, SPACE, STRING, TEXT,
                    VARIABLE, Token, lex)
from .literals import go_quote, parse_go_number, unquote_go
from .nodes import (Action, Chain, Command, Control, Dot, Else, End, Field, Identifier, Jump,
                    Literal, Nil, Pipe, TemplateCall, Text, Variable)


class Parser:
    """Builds the node tree, following Go's text/template/parse/parse.go."""

    def __init__(self, text: str, funcs: dict):
        self.text = text
        self.funcs = funcs
        self.tokens = lex(text)
        self.index = 0
        self.furthest = 0  # Go reports errors at the line of the last token it looked at
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.defined: dict[str, tuple] = {}

    # -- token stream

    def next(self) -> Token:
        # The stream ends with EOF or ERROR; reading on past it keeps returning that token.
        last = len(self.tokens) - 1
        token = self.tokens[min(self.index, last)]
        self.furthest = max(self.furthest, min(self.index, last))
        self.index += 1
        return token

    def backup(self, to: int | None = None):
        self.index = self.index - 1 if to is None else to

    def peek(self) -> Token:
        token = self.next()
        self.backup()
        return token

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind == SPACE:
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.backup()
        return token

    def expect(self, kind: str, context: str) -> Token:
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

    def unexpected(self, token: Token, context: str):
        """The error for a token that does not belong here; a lexing error is reported here
        too, which is why a parse error earlier in the template wins over it, as in Go."""
        if token.kind == ERROR:
            extra = ""
            if self.action_line and self.action_line != self.line_of(token.pos):
                extra = f" in action started at :{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action"):]  # not "unclosed action in action"
            self.error(token.val + extra)
        self.error(f"unexpected {token} in {context}")

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
            if isinstance(node, (End, Else)):
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
        if not isinstance(end, End):
            self.error(f"unexpected {end} in define clause")
        self.add_definition(name, body)

    def add_definition(self, name: str, body: tuple):
        existing = self.defined.get(name)
        if existing and not _is_empty(existing) and not _is_empty(body):
            self.error(f"template: multiple definition of template {go_quote(name)}")
        if existing is None or _is_empty(existing):
            self.defined[name] = body

    def item_list(self) -> tuple[tuple, object]:
        nodes = []
        while self.peek_non_space().kind != EOF:
            node = self.text_or_action()
            if isinstance(node, (End, Else)):
                return tuple(nodes), node
            nodes.append(node)
        self.error("unexpected EOF")

    def text_or_action(self):
        token = self.next_non_space()
        if token.kind == TEXT:
            return Text(token.pos, token.val)
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
            return Jump(token.pos, kind)
        if kind == "else":
            following = self.peek_non_space()
            if following.kind in ("if", "with"):
                return Else(following.pos)
            return Else(self.expect(RIGHT, "else").pos)
        if kind == "end":
            return End(self.expect(RIGHT, "end").pos)
        if kind == "template":
            return self.template_call()
        if kind == "block":
            return self.block()
        self.backup()
        pos = self.peek().pos
        return Action(pos, self.pipeline("command", RIGHT))

    def control(self, kind: str) -> Control:
        saved_vars = len(self.vars)
        pipe = self.pipeline(kind, RIGHT)
        if kind == "range":
            self.range_depth += 1
        body, end = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_body = None
        if isinstance(end, Else):
            # {{else if x}} is {{else}}{{if x}}…{{end}}{{end}} with the inner {{end}} implied.
            if kind in ("if", "with") and self.peek().kind == kind:
                self.next()
                else_body = (self.control(kind),)
            else:
                else_body, end = self.item_list()
                if not isinstance(end, End):
                    self.error(f"expected end; found {end}")
        del self.vars[saved_vars:]
        return Control(pipe.pos, kind, pipe, body, else_body)

    def template_call(self) -> TemplateCall:
        token = self.next_non_space()
        if token.kind not in (STRING, RAWSTRING):
            self.unexpected(token, "template clause")
        name = self.unquote(token)
        pipe = None
        if self.next_non_space().kind != RIGHT:
            self.backup()
            pipe = self.pipeline("template clause", RIGHT)
        return TemplateCall(token.pos, name, pipe)

    def block(self) -> TemplateCall:
        """{{block "name" pipe}}default{{end}}: define "name" and call it right here."""
        token = self.next_non_space()
        if token.kind not in (STRING, RAWSTRING):
            self.unexpected(token, "block clause")
        name = self.unquote(token)
        pipe = self.pipeline("block clause", RIGHT)
        outer_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = outer_vars
        if not isinstance(end, End):
            self.error(f"unexpected {end} in block clause")
        self.add_definition(name, body)
        return TemplateCall(token.pos, name, pipe)

    # -- pipelines and commands

    def pipeline(self, context: str, end: str) -> Pipe:
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
        cmds: list[Command] = []
        while True:
            token = self.next_non_space()
            if token.kind == end:
                self.check_pipeline(cmds, context)
                return Pipe(pos, tuple(decl), is_assign, tuple(cmds))
            if token.kind in (BOOL, CHAR, DOT, FIELD, IDENT, NUMBER, NIL, RAWSTRING, STRING,
                              VARIABLE, LPAREN):
                self.backup()
                cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, cmds: list[Command], context: str):
        if not cmds:
            self.error(f"missing value for {context}")
        for stage, cmd in enumerate(cmds[1:], start=2):
            if isinstance(cmd.args[0], (Literal, Dot, Nil)):
                self.error(f"non executable command in pipeline stage {stage}")

    def command(self) -> Command:
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
        return Command(pos, tuple(args))

    def operand(self):
        node = self.term()
        if node is None or self.peek().kind != FIELD:
            return node
        pos = self.peek().pos
        fields = []
        while self.peek().kind == FIELD:
            fields.append(self.next().val[1:])
        if isinstance(node, Field):
            return Field(pos, node.idents + tuple(fields))
        if isinstance(node, Variable):
            return Variable(pos, node.idents + tuple(fields))
        if isinstance(node, (Literal, Nil, Dot)):
            self.error(f"unexpected . after term {go_quote(str(node))}")
        return Chain(pos, node, tuple(fields))

    def term(self):
        token = self.next_non_space()
        kind = token.kind
        if kind == IDENT:
            if token.val not in self.funcs:
                self.error(f"function {go_quote(token.val)} not defined")
            return Identifier(token.pos, token.val)
        if kind == DOT:
            return Dot(token.pos)
        if kind == NIL:
            return Nil(token.pos)
        if kind == VARIABLE:
            if token.val not in self.vars:
                self.error(f"undefined variable {go_quote(token.val)}")
            return Variable(token.pos, (token.val,))
        if kind == FIELD:
            return Field(token.pos, (token.val[1:],))
        if kind == BOOL:
            return Literal(token.pos, token.val, token.val == "true", False)
        if kind in (NUMBER, CHAR):
            return self.number(token)
        if kind == LPAREN:
            return self.pipeline("parenthesized pipeline", RPAREN)
        if kind in (STRING, RAWSTRING):
            return Literal(token.pos, token.val, self.unquote(token), False)
        self.backup()
        return None

    def unquote(self, token: Token) -> str:
        if token.kind == RAWSTRING:
            return token.val[1:-1].replace("\r", "")
        try:
            return unquote_go(token.val[1:-1], '"')
        except ValueError:
            self.error("invalid syntax")

    def number(self, token: Token) -> Literal:
        text = token.val
        if token.kind == CHAR:
            try:
                value = unquote_go(text[1:-1], "'")
            except ValueError:
                self.error("invalid syntax")
            if len(value) != 1:
                self.error(f"malformed character constant: {text}")
            return Literal(token.pos, text, ord(value), True)
        try:
            value = parse_go_number(text)
        except ValueError as exc:
            self.error(str(exc))
        is_int = isinstance(value, int) or value.is_integer()
        return Literal(token.pos, text, value, is_int)


def _is_empty(body: tuple) -> bool:
    """Go's IsEmptyTree: only whitespace text (a definition may be replaced)."""
    return all(isinstance(node, Text) and not node.text.strip() for node in body)
