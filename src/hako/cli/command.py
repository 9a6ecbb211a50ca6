"""What a CLI command is, and the errors that end one.

A command module defines one or more `Command`s; `main` finds them through `registry`, parses
flags, checks the number of arguments and calls ``action(cli, opts, args)``, which returns the
exit status (or None for 0). Example::

    STOP = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
                   flags=(Flag("timeout", "t", INT, help="Seconds to wait"),),
                   args=at_least(1), action=stop)

Errors and their exit statuses, as docker's::

    StatusError(status, message)   print message (if any) to stderr, exit with status
    ArgsError                      wrong number of arguments: usage text, exit 1
    flags.FlagError                a bad flag: usage text, exit 125 (handled by main)
"""

from __future__ import annotations


class StatusError(Exception):
    """End the command with ``status``, printing ``message`` (if not empty) to stderr."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ArgsError(Exception):
    """The command got the wrong number of arguments; ``reason`` is docker's phrase
    ("requires at least 1 argument") and ``hint`` the verb of its last line ("See"/"Run")."""

    def __init__(self, reason: str, hint: str = "Run") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def _plural(n: int) -> str:
    return "argument" if n == 1 else "arguments"


def no_args(args) -> None:
    if args:
        raise ArgsError("accepts no arguments")


def exactly(n: int):
    def check(args) -> None:
        if len(args) != n:
            raise ArgsError(f"requires {n} {_plural(n)}")
    return check


def at_least(n: int):
    def check(args) -> None:
        if len(args) < n:
            raise ArgsError(f"requires at least {n} {_plural(n)}", "See")
    return check


def at_most(n: int):
    def check(args) -> None:
        if len(args) > n:
            raise ArgsError(f"requires at most {n} {_plural(n)}")
    return check


def between(low: int, high: int):
    def check(args) -> None:
        if len(args) < low:
            raise ArgsError(f"requires at least {low} {_plural(low)}", "See")
        if len(args) > high:
            raise ArgsError(f"requires at most {high} {_plural(high)}", "See")
    return check


def any_args(args) -> None:
    return None


class Command:
    """A command's usage (after its name), one-line description, flags, argument check and
    action. ``interspersed=False`` stops flag parsing at the first argument (``run IMAGE CMD…``).
    ``aliases`` are the full invocations docker lists under "Aliases:"."""

    __slots__ = ("usage", "short", "flags", "args", "action", "interspersed", "aliases", "long")

    def __init__(self, usage: str, short: str, *, flags=(), args=any_args, action=None,
                 interspersed: bool = True, aliases: tuple = (), long: str = "") -> None:
        self.usage = usage
        self.short = short
        self.flags = flags
        self.args = args
        self.action = action
        self.interspersed = interspersed
        self.aliases = aliases
        self.long = long
