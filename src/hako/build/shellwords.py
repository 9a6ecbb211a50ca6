"""Docker's Dockerfile word processing: quotes, escapes and variable substitution.

Used for the instructions Docker expands itself (FROM, ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER,
EXPOSE, VOLUME, STOPSIGNAL, ONBUILD …); RUN, CMD and ENTRYPOINT are left to the shell.

    process_word('"${NAME:-x}"/bin', {"NAME": "a"})   -> 'a/bin'
    process_words("a 'b c' $X", {"X": "d e"})          -> ['a', 'b c', 'd e']

Docker splits words before it expands them (ProcessWords), so an expanded value is one word.
Supported forms: $VAR ${VAR} ${VAR:-word} ${VAR-word} ${VAR:+word} ${VAR+word} ${VAR:?msg}
${VAR?msg}. A variable never set expands to the empty string.
"""

from __future__ import annotations

from ..errdefs import InvalidArgument


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes (they are processed later)."""
    words, current, quote, i = [], [], None, 0
    in_word = False
    while i < len(text):
        ch = text[i]
        if quote is None and ch.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
            continue
        in_word = True
        if ch == escape and quote != "'" and i + 1 < len(text):
            current.append(ch + text[i + 1])
            i += 2
            continue
        if quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
        current.append(ch)
        i += 1
    if in_word:
        words.append("".join(current))
    return words


def process_words(text: str, env: dict[str, str], escape: str = "\\") -> list[str]:
    return [process_word(word, env, escape) for word in split_words(text, escape)]


def process_word(word: str, env: dict[str, str], escape: str = "\\") -> str:
    return _Lexer(word, env, escape).run()


class _Lexer:
    def __init__(self, text: str, env: dict[str, str], escape: str):
        self.text, self.env, self.escape, self.pos = text, env, escape, 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def run(self, stop: str = "") -> str:
        out = []
        while self.pos < len(self.text):
            ch = self.peek()
            if stop and ch in stop:
                break
            if ch == "'":
                self.next()
                out.append(self._single_quoted())
            elif ch == '"':
                self.next()
                out.append(self._double_quoted())
            elif ch == "$":
                out.append(self._variable())
            elif ch == self.escape:
                self.next()
                if self.pos < len(self.text):
                    out.append(self.next())
            else:
                out.append(self.next())
        return "".join(out)

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise InvalidArgument("unexpected end of statement while looking for matching single-quote")
        value = self.text[self.pos:end]
        self.pos = end + 1
        return value

    def _double_quoted(self) -> str:
        out = []
        while True:
            if self.pos >= len(self.text):
                raise InvalidArgument("unexpected end of statement while looking for matching double-quote")
            ch = self.peek()
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self._variable())
            elif ch == self.escape:
                self.next()
                following = self.peek()
                if following in ('"', "$", self.escape):
                    out.append(self.next())
                else:
                    out.append(ch)
            else:
                out.append(self.next())

    def _variable(self) -> str:
        self.next()                        # the $
        ch = self.peek()
        if ch == "{":
            self.next()
            return self._braced()
        name = self._name()
        if not name:
            return "$"
        return self.env.get(name, "")

    def _name(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        return self.text[start:self.pos]

    def _braced(self) -> str:
        name = self._name()
        if not name:
            raise InvalidArgument(f"bad substitution: {self.text!r}")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.next()
        if ch not in ("-", "+", "?"):
            raise InvalidArgument(f"unsupported modifier ({ch}) in substitution: {self.text!r}")
        word = self._nested_word()
        is_set = name in self.env
        value = self.env.get(name, "")
        present = is_set and (value != "" or not colon)
        if ch == "-":
            return value if present else word
        if ch == "+":
            return word if present else ""
        if not present:
            raise InvalidArgument(f"{name}: {word or 'is not allowed to be unset'}")
        return value

    def _nested_word(self) -> str:
        out, depth = [], 0
        lexer = _Lexer("", self.env, self.escape)
        start = self.pos
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == self.escape:
                self.pos += 2
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    lexer.text = self.text[start:self.pos]
                    self.pos += 1
                    out.append(lexer.run())
                    return "".join(out)
                depth -= 1
            self.pos += 1
        raise InvalidArgument(f"syntax error: missing '}}' in {self.text!r}")
