"""The lexer: a template cut into text and action tokens, following Go's
text/template/parse/lex.go.

Text outside ``{{ }}`` is one TEXT token; inside an action every word, literal and
punctuation mark is one token::

    [t.kind for t in lex("a{{.B | len}}")] ==
        ["text", "{{", "field", "space", "|", "space", "identifier", "}}", "EOF"]

``{{- `` and `` -}}`` trim the whitespace beside them, as Go's lexer does, and comments
(``{{/* … */}}``) produce no token at all.
"""

from __future__ import annotations

import functools
import re

from .literals import go_quote, go_rune
from .record import Record


class Token(Record):
    __slots__ = ("kind", "val", "pos")
    kind: str  # one of the names below, or a keyword ("if", "end" …)
    val: str
    pos: int  # character offset in the template

    def __str__(self):
        """The token as Go's item.String() prints it in "unexpected … in …" messages."""
        if self.kind == EOF:
            return "EOF"
        if self.kind in _ANGLE_KINDS:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


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


def lex(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an EOF token, or with an ERROR token whose ``val`` is
    Go's message when the text does not lex."""
    return _Lexer(text).run()


class _Lexer:
    """Cuts a template into tokens, following Go's text/template/parse/lex.go.

    A lexing error becomes an ERROR token (and ends the stream) rather than an exception, so
    that, as in Go, a parse error earlier in the template is the one reported."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.paren_depth = 0

    def run(self) -> list[Token]:
        state = self.lex_text
        while state is not None:
            state = state()
        return self.tokens

    def emit(self, kind: str, start: int, end: int | None = None):
        end = self.pos if end is None else end
        self.tokens.append(Token(kind, self.text[start:end], start))

    def error(self, message: str, start: int):
        self.tokens.append(Token(ERROR, message, start))
        return None

    # -- outside actions

    def lex_text(self):
        text, start = self.text, self.pos
        left = text.find("{{", start)
        if left < 0:
            if start < len(text):
                self.emit(TEXT, start, len(text))
            self.tokens.append(Token(EOF, "", len(text)))
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
            return self.error(f"unrecognized character in action: {go_rune(ch)}", start)
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
            return self.error(f"bad character {go_rune(self.text[self.pos])}", start)
        self.emit(kind, start)
        return self.lex_inside_action

    def lex_identifier(self):
        start = self.pos
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            return self.error(f"bad character {go_rune(self.text[self.pos])}", start)
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
        self.pos = _number_re().match(text, start).end()
        bad = False
        if text[self.pos:self.pos + 1] in ("+", "-"):
            # Only a complex number (1+2i) may continue with a sign.
            self.pos = _number_re().match(text, self.pos).end()
            bad = text[self.pos - 1] != "i"
        if self.pos < len(text) and _is_alnum(text[self.pos]):
            self.pos += 1  # Go's message shows the offending character too
            bad = True
        if bad:
            return self.error(f"bad number syntax: {go_quote(text[start:self.pos])}", start)
        self.emit(NUMBER, start)
        return self.lex_inside_action


@functools.cache
def _number_re() -> re.Pattern:
    """Go's scanNumber: optional sign, then a decimal, hex, octal or binary literal with
    optional fraction and exponent (underscores allowed), and an optional imaginary "i".
    Compiled on first use: most templates hold no number, and every --format pays for
    what this module does at import."""
    return re.compile(r"""[+-]?(?:
      0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]*)?
    | 0[oO][0-7_]*(?:\.[0-7_]*)?
    | 0[bB][01_]*(?:\.[01_]*)?
    | [0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]*)?
    )i?""", re.VERBOSE)


def _left_trim(text: str, pos: int) -> bool:
    """Whether "{{" at pos-2 is followed by Go's left trim marker "- "."""
    return text.startswith("-", pos) and pos + 1 < len(text) and text[pos + 1] in _SPACES
