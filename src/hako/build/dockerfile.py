"""The Dockerfile parser: text in, stages of instructions out, as Docker's reference describes.

    df = parse(text)
    df.meta_args            # ARGs before the first FROM
    df.stages[0].base       # 'busybox' (unexpanded: FROM expands meta args at build time)
    df.stages[0].instructions[0]   # Instruction(cmd='RUN', args='echo hi', line=2, ...)

What the parser does: parser directives at the top (``# escape=`` and ``# syntax=``), comments,
line continuations with the escape character, the instruction keyword (case-insensitive),
leading ``--flag=value`` options, the JSON (exec) form, and heredocs (``<<EOF`` … ``EOF``) for
RUN, COPY and ADD. Variable substitution happens later, when the builder knows the values.

Errors are ``ParseError`` with Docker's text: ``dockerfile parse error on line 3: unknown
instruction: FOO``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errdefs import InvalidArgument

INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
                "WORKDIR")
# The flags each instruction accepts (Docker's BFlags); a flag without "=" is a boolean.
FLAGS = {
    "ADD": {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "FROM": {"platform"},
    "RUN": {"mount", "network", "security"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}
_UNSUPPORTED_FLAGS = {"ADD": ("keep-git-dir", "exclude"), "COPY": ("parents", "exclude"), "RUN": ("security",)}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


class ParseError(InvalidArgument):
    def __init__(self, line: int, message: str):
        super().__init__(f"dockerfile parse error on line {line}: {message}")
        self.line = line


@dataclass
class Heredoc:
    name: str
    content: str
    expand: bool          # an unquoted delimiter: the content is subject to substitution
    chomp_tabs: bool


@dataclass
class Instruction:
    cmd: str                                  # upper case: "RUN"
    args: str                                 # the text after the keyword and the flags
    original: str                             # the instruction as written, continuations joined
    line: int                                 # where it starts, 1-based
    flags: dict[str, str | bool] = field(default_factory=dict)
    json_args: list[str] | None = None        # the exec (JSON) form, when used
    heredocs: list[Heredoc] = field(default_factory=list)

    def __str__(self) -> str:
        return self.original


@dataclass
class Stage:
    base: str                  # the FROM image, unexpanded
    name: str                  # the AS name, lower case, or ""
    index: int
    line: int
    platform: str = ""
    original: str = ""
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    meta_args: list[Instruction]
    stages: list[Stage]
    escape: str = "\\"
    syntax: str = ""


def parse(text: str) -> Dockerfile:
    lines = text.replace("\r\n", "\n").split("\n")
    escape, syntax, first = _directives(lines)
    instructions = list(_instructions(lines, first, escape))
    if not instructions:
        raise InvalidArgument("the Dockerfile cannot be empty")
    return _stages(instructions, escape, syntax)


def _directives(lines: list[str]) -> tuple[str, str, int]:
    """Parser directives: `# key=value` lines at the very top, before any comment, blank line
    or instruction; each at most once."""
    escape, syntax, seen = "\\", "", set()
    for number, line in enumerate(lines):
        match = _DIRECTIVE.match(line.strip())
        if not match:
            return escape, syntax, number
        key, value = match.group(1).lower(), match.group(2)
        if key in seen:
            raise ParseError(number + 1, f"only one {key} parser directive can be used")
        seen.add(key)
        if key == "escape":
            if value not in ("\\", "`"):
                raise ParseError(number + 1, f"invalid escape token '{value}' does not match ` or \\")
            escape = value
        elif key == "syntax":
            syntax = value
    return escape, syntax, len(lines)


def _instructions(lines: list[str], start: int, escape: str):
    number = start
    while number < len(lines):
        stripped = lines[number].strip()
        if not stripped or stripped.startswith("#"):
            number += 1
            continue
        begin = number
        parts, original = [], []
        line = lines[number].lstrip()
        while True:
            trimmed = line.rstrip()
            if trimmed.endswith(escape) and not _escaped_escape(trimmed, escape):
                parts.append(trimmed[:-1])
                original.append(trimmed[:-1])
                number += 1
                # comments and blank lines inside a continuation are dropped, as Docker does
                while number < len(lines) and (not lines[number].strip() or lines[number].lstrip().startswith("#")):
                    number += 1
                if number >= len(lines):
                    break
                line = lines[number]
                continue
            parts.append(line)
            original.append(line)
            number += 1
            break
        joined = "".join(parts).strip()
        instruction = _instruction(joined, begin + 1, escape)
        if instruction.cmd in ("RUN", "COPY", "ADD"):
            number = _read_heredocs(instruction, lines, number)
        yield instruction


def _escaped_escape(trimmed: str, escape: str) -> bool:
    """`RUN echo \\\\` ends with an escaped escape character, not a continuation."""
    count = len(trimmed) - len(trimmed.rstrip(escape))
    return count % 2 == 0


def _instruction(text: str, line: int, escape: str) -> Instruction:
    keyword, _, rest = text.partition(" ")
    if "\t" in keyword:
        keyword, _, more = keyword.partition("\t")
        rest = more + " " + rest
    cmd = keyword.upper()
    if cmd not in INSTRUCTIONS:
        raise ParseError(line, f"unknown instruction: {cmd}")
    rest = rest.strip()
    flags, rest = _flags(cmd, rest, line)
    instruction = Instruction(cmd, rest, text, line, flags)
    if cmd in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME") and rest.startswith("["):
        try:
            value = json.loads(rest)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            instruction.json_args = value
    _check(instruction)
    return instruction


def _flags(cmd: str, rest: str, line: int) -> tuple[dict[str, str | bool], str]:
    flags: dict[str, str | bool] = {}
    while rest.startswith("--"):
        word, _, remainder = rest.partition(" ")
        if word == "--":
            break
        name, eq, value = word[2:].partition("=")
        allowed = FLAGS.get(cmd, set())
        if name not in allowed:
            raise ParseError(line, f"unknown flag: {name}" if cmd in FLAGS else f"{cmd} does not take flags: --{name}")
        if name in flags:
            raise ParseError(line, f"duplicate flag specified: {name}")
        flags[name] = value if eq else True
        rest = remainder.lstrip()
    return flags, rest


def _check(ins: Instruction) -> None:
    """What Docker refuses at parse time."""
    args = ins.args
    if ins.cmd in ("FROM", "RUN", "COPY", "ADD", "ENV", "LABEL", "EXPOSE", "USER", "WORKDIR", "VOLUME",
                   "STOPSIGNAL", "ARG", "SHELL", "ONBUILD", "MAINTAINER", "HEALTHCHECK") and not args:
        raise ParseError(ins.line, f"{ins.cmd} requires at least one argument")
    if ins.cmd == "SHELL" and ins.json_args is None:
        raise ParseError(ins.line, "SHELL requires the arguments to be in JSON form")
    if ins.cmd in ("COPY", "ADD") and not _HEREDOC.search(args):
        words = ins.json_args if ins.json_args is not None else args.split()
        if len(words) < 2:
            raise ParseError(ins.line, f"{ins.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.")
    if ins.cmd == "ONBUILD":
        trigger = args.split(None, 1)[0].upper()
        if trigger in ("ONBUILD", "FROM", "MAINTAINER"):
            raise ParseError(ins.line, f"{trigger} isn't allowed as an ONBUILD trigger")
    if ins.cmd == "STOPSIGNAL" and len(args.split()) != 1:
        raise ParseError(ins.line, "STOPSIGNAL requires exactly one argument")
    if ins.cmd == "WORKDIR" and len(args.split()) != 1 and not args.startswith(("'", '"')):
        raise ParseError(ins.line, "WORKDIR requires exactly one argument")
    if ins.cmd == "RUN" and "mount" in ins.flags:
        raise ParseError(ins.line, "RUN --mount requires BuildKit, which hako's builder is not")
    # Flags Docker's newer frontends know that would change what a step does: refused by name
    # rather than ignored (--link only changes how BuildKit stores the layer: accepted).
    for name in _UNSUPPORTED_FLAGS.get(ins.cmd, ()):
        if name in ins.flags:
            raise ParseError(ins.line, f"{ins.cmd} --{name} is not supported by hako's builder")


def _read_heredocs(ins: Instruction, lines: list[str], number: int) -> int:
    """Consume the bodies of the heredocs the instruction names, from the lines after it."""
    if ins.json_args is not None:
        return number
    for match in _HEREDOC.finditer(ins.args):
        chomp, quote, name = match.group(1) == "-", match.group(2), match.group(3)
        body = []
        while True:
            if number >= len(lines):
                raise ParseError(ins.line, f"unterminated heredoc {name}")
            line = lines[number]
            number += 1
            check = line.lstrip("\t") if chomp else line
            if check.rstrip("\r") == name:
                break
            body.append(check if chomp else line)
        content = "\n".join(body) + "\n" if body else ""
        ins.heredocs.append(Heredoc(name, content, expand=not quote, chomp_tabs=chomp))
    return number


def _stages(instructions: list[Instruction], escape: str, syntax: str) -> Dockerfile:
    meta: list[Instruction] = []
    stages: list[Stage] = []
    names: set[str] = set()
    for ins in instructions:
        if ins.cmd == "FROM":
            words = ins.args.split()
            name = ""
            if len(words) == 3 and words[1].lower() == "as":
                name = words[2].lower()
                if not re.match(r"^[a-z][a-z0-9._-]*$", name):
                    raise ParseError(ins.line, f"invalid name for build stage: {words[2]!r}, name can't start with a number or contain symbols")
                if name in names:
                    raise ParseError(ins.line, f"duplicate name {name}")
                names.add(name)
            elif len(words) != 1:
                raise ParseError(ins.line, "FROM requires either one or three arguments")
            stages.append(Stage(words[0], name, len(stages), ins.line, str(ins.flags.get("platform") or ""), ins.original))
        elif not stages:
            if ins.cmd != "ARG":
                raise ParseError(ins.line, "no build stage in current context")
            meta.append(ins)
        else:
            stages[-1].instructions.append(ins)
    return Dockerfile(meta, stages, escape, syntax)
