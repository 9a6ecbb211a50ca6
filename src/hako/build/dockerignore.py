""".dockerignore: which paths of the build context are left out, with Docker's pattern semantics.

    rules = parse(".git\n*.log\n!keep.log\n**/tmp\n")
    rules.excluded("a/b.log")    # False: "*.log" matches at the top level only
    rules.excluded("x.log")      # True
    rules.excluded("keep.log")   # False: the later "!" exception wins

Patterns (moby/patternmatcher): cleaned like filepath.Clean, a leading "/" dropped; `*` and `?`
do not cross "/", `**` matches any number of directories (also none), `[...]` classes, `\\`
escapes. A pattern excludes the paths it matches and everything under them. The last matching
pattern decides, so `!` exceptions re-include. Stdlib only: the CLI uses it to filter the
context it sends.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass
class Pattern:
    text: str
    exclusion: bool        # a "!" exception: matching paths are included again
    regex: re.Pattern


class Rules:
    def __init__(self, patterns: list[Pattern]):
        self.patterns = patterns
        self.has_exceptions = any(p.exclusion for p in patterns)

    def excluded(self, path: str) -> bool:
        """Whether the context-relative ``path`` (with "/" separators) is left out."""
        path = posixpath.normpath(path).lstrip("/")
        parents = _parents(path)
        excluded = False
        for pattern in self.patterns:
            if pattern.exclusion == (not excluded):
                continue      # cannot change the outcome
            matched = pattern.regex.match(path) is not None
            if not matched:
                matched = any(pattern.regex.match(parent) for parent in parents)
            if matched:
                excluded = not pattern.exclusion
        return excluded

    def __bool__(self) -> bool:
        return bool(self.patterns)


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def parse(text: str) -> Rules:
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if not line:
            continue
        cleaned = posixpath.normpath(line)
        if cleaned.startswith("/"):
            cleaned = cleaned.lstrip("/") or "."
        patterns.append(Pattern(cleaned, exclusion, re.compile(_regex(cleaned))))
    return Rules(patterns)


def _regex(pattern: str) -> str:
    out = ["^"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i:i + 2] == "**":
                i += 2
                if pattern[i:i + 1] == "/":
                    i += 1
                    out.append("(.*/)?")     # any number of directories, also none
                elif i >= len(pattern):
                    out.append(".*")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)
