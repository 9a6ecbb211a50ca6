"""Command-line flags parsed the way docker's (spf13/pflag) are.

Why not argparse: it costs ~10 ms to import, and its grammar differs from pflag's in ways users
notice (``-it``, ``-e=X``, ``-p8080:80``, a value that starts with ``-``, stopping at the image
name in ``run``). The rules reproduced here:

- ``--name value``, ``--name=value``; a bool is ``--rm`` or ``--rm=false`` (never a separate word);
- short flags combine (``-it``); a value may be glued (``-p8080:80``, ``-e=X``) or follow;
- a value is taken from the next word even when it starts with ``-`` (``--name -x``);
- ``--`` ends the flags; ``-`` alone is an argument;
- commands that run another command (``run``, ``create``, ``exec``) stop at their first argument,
  so ``hako run busybox ls -l`` keeps ``-l`` for ``ls``;
- ``--help`` (and ``-h`` when no flag owns it) asks for help.

Errors are `FlagError`s with pflag's wording, e.g. ``unknown shorthand flag: 'x' in -x``.

Example::

    FLAGS = (Flag("all", "a", help="Show all"), Flag("filter", "f", LIST, help="Filter"))
    values, args = parse(FLAGS, ["-a", "--filter", "status=exited", "extra"])
    # values == {"all": True, "filter": ["status=exited"]}; args == ["extra"]
"""

from __future__ import annotations


class FlagError(Exception):
    """A command line pflag would refuse; the message is pflag's."""


class HelpRequested(Exception):
    """``--help`` was given."""


class Kind:
    """How a flag's text becomes its value. ``convert(text)`` raises ValueError with the reason
    (shown after 'invalid argument "…" for "…" flag: '); ``repeat`` flags collect a list."""

    __slots__ = ("type_name", "convert", "repeat", "default")

    def __init__(self, type_name: str, convert, repeat: bool = False, default=None) -> None:
        self.type_name = type_name
        self.convert = convert
        self.repeat = repeat
        self.default = default


def parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def parse_int(text: str) -> int:
    """Go's strconv.ParseInt(text, 0, 64): decimal, 0x…, 0o…, 0b…, and legacy 0… octal."""
    body = text[1:] if text[:1] in "+-" else text
    try:
        if body[:2].lower() in ("0x", "0o", "0b"):
            value = int(body, 0)
        elif len(body) > 1 and body.startswith("0"):
            value = int(body, 8)
        else:
            if not body.isdigit():
                raise ValueError
            value = int(body)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    value = -value if text.startswith("-") else value
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


BOOL = Kind("bool", parse_bool, default=False)
STRING = Kind("string", str, default="")
INT = Kind("int", parse_int, default=0)
LIST = Kind("list", str, repeat=True)


_KIND_DEFAULT = object()


class Flag:
    """One flag: long ``name``, optional one-letter ``short``, its `Kind`, help text.
    ``default`` overrides the kind's default (None included: "not given" for flags whose
    absence differs from a zero value); ``dest`` is the key in the parsed values (the name with
    dashes turned into underscores unless given)."""

    __slots__ = ("name", "short", "kind", "help", "default", "dest", "hidden")

    def __init__(self, name: str, short: str | None = None, kind: Kind = BOOL, *, help: str = "",
                 default=_KIND_DEFAULT, dest: str | None = None, hidden: bool = False) -> None:
        self.name = name
        self.short = short
        self.kind = kind
        self.help = help
        self.default = kind.default if default is _KIND_DEFAULT else default
        self.dest = dest or name.replace("-", "_")
        self.hidden = hidden

    @property
    def is_bool(self) -> bool:
        return self.kind is BOOL

    def label(self) -> str:
        """How pflag names the flag in errors: ``-m, --memory`` or ``--cpus``."""
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"


_HELP = "__help__"


def defaults(flags) -> dict:
    """The values dict before any flag is given (fresh lists for repeatable flags)."""
    return {f.dest: ([] if f.kind.repeat else f.default) for f in flags}


def parse(flags, argv, interspersed: bool = True) -> tuple[dict, list[str]]:
    """Parse ``argv`` against ``flags``; return ``(values, positional_args)``."""
    by_long = {f.name: f for f in flags}
    by_short = {f.short: f for f in flags if f.short}
    values = defaults(flags)
    args: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word == "--":
            args.extend(argv[i:])
            break
        if len(word) < 2 or word[0] != "-":
            if not interspersed:
                args.append(word)
                args.extend(argv[i:])
                break
            args.append(word)
            continue
        if word.startswith("--"):
            i = _parse_long(word, argv, i, by_long, values)
        else:
            i = _parse_shorts(word, argv, i, by_short, values)
    # Like pflag, every flag is checked before help is honoured: `ps --help --bogus` is an error.
    if values.pop(_HELP, False):
        raise HelpRequested()
    return values, args


def _parse_long(word, argv, i, by_long, values) -> int:
    name, has_value, value = word[2:].partition("=")
    flag = by_long.get(name)
    if flag is None:
        if name == "help":
            values[_HELP] = True
            return i
        raise FlagError(f"unknown flag: --{name}")
    if not has_value:
        if flag.is_bool:
            value = "true"
        elif i < len(argv):
            value = argv[i]
            i += 1
        else:
            raise FlagError(f"flag needs an argument: --{name}")
    _set(flag, value, values)
    return i


def _parse_shorts(word, argv, i, by_short, values) -> int:
    shorts = word[1:]
    while shorts:
        letter = shorts[0]
        flag = by_short.get(letter)
        if flag is None:
            if letter == "h":
                values[_HELP] = True
                shorts = shorts[1:]
                continue
            raise FlagError(f"unknown shorthand flag: '{letter}' in {word}")
        if len(shorts) > 2 and shorts[1] == "=":
            value, shorts = shorts[2:], ""
        elif flag.is_bool:
            value, shorts = "true", shorts[1:]
        elif len(shorts) > 1:
            value, shorts = shorts[1:], ""
        elif i < len(argv):
            value, shorts = argv[i], ""
            i += 1
        else:
            raise FlagError(f"flag needs an argument: '{letter}' in {word}")
        _set(flag, value, values)
    return i


def _set(flag: Flag, text: str, values: dict) -> None:
    try:
        value = flag.kind.convert(text)
    except ValueError as exc:
        raise FlagError(f'invalid argument "{text}" for "{flag.label()}" flag: {exc}') from None
    if flag.kind.repeat:
        values[flag.dest].append(value)
    else:
        values[flag.dest] = value
