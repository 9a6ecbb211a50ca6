"""The `hako` entry point: global flags, command lookup, and turning errors into exit statuses.

Exit statuses follow docker's: 0 success; 1 an error reported by the daemon or a wrong number of
arguments; 125 a bad flag or an error of `run`/`create` itself; 126/127 a container command
that cannot be invoked / was not found; otherwise the container's own status (`run`, `start -a`,
`exec`).

Start-up is kept light on purpose: only this module, the flag parser and the registry are
imported before the command is known; the command's module is imported by name from
`registry`.
"""

from __future__ import annotations

import sys

from .command import ArgsError, StatusError
from .context import PROG, Cli
from .flags import STRING, Flag, FlagError, HelpRequested, parse

GLOBAL_FLAGS = (
    Flag("config", None, STRING, help="Location of client config files"),
    Flag("context", "c", STRING, help="Name of the context to use to connect to the daemon"),
    Flag("debug", "D", help="Enable debug mode"),
    Flag("host", "H", STRING, help="Daemon socket to connect to"),
    Flag("log-level", "l", STRING, default="info",
         help='Set the logging level ("debug", "info", "warn", "error", "fatal")'),
    Flag("version", "v", help="Print version information and quit"),
)
GLOBAL_USAGE = "[OPTIONS] COMMAND"
VERSION = "0.1.0"


def main(argv: list[str] | None = None, cli: Cli | None = None) -> int:
    """Run one `hako` invocation; returns the exit status. Tests pass their own `Cli`."""
    if cli is None:
        _default_sigpipe()
    argv = sys.argv[1:] if argv is None else argv
    try:
        values, words = parse(GLOBAL_FLAGS, argv, interspersed=False)
    except HelpRequested:
        values, words = {}, []
    except FlagError as exc:
        _err(cli, f"{exc}\n\nUsage:  {PROG} {GLOBAL_USAGE} [ARG...]\n\n"
                  f"Run '{PROG} --help' for more information\n")
        return 125
    if values.get("version"):
        _out(cli, f"{PROG} version {VERSION}\n")
        return 0
    if cli is None:
        cli = Cli(host=values.get("host") or None)
    else:
        cli.host_flag = values.get("host") or cli.host_flag
    if values.get("config"):
        # --config names the directory of config.json, as DOCKER_CONFIG does (login, pull …)
        cli.environ = {**cli.environ, "DOCKER_CONFIG": values["config"]}
    try:
        return dispatch(cli, words)
    finally:
        cli.close()


def dispatch(cli: Cli, words: list[str]) -> int:
    from .registry import lookup

    if not words:
        from .help import root_help
        cli.out.write(root_help())
        return 0
    if words[0] == "help":
        return dispatch(cli, words[1:] + ["--help"]) if len(words) > 1 else dispatch(cli, [])
    path, entry, rest = lookup(words)
    if entry is None:
        return _no_such_command(cli, path, rest)
    module_name, attr, _ = entry
    module = __import__(f"hako.cli.commands.{module_name}", fromlist=[attr])
    return run_command(cli, path, getattr(module, attr), rest)


def run_command(cli: Cli, path: str, command, argv: list[str]) -> int:
    """Parse the command's flags and arguments and run its action, mapping errors to statuses."""
    full = f"{PROG} {path}"
    usage = f"{full} {command.usage}".rstrip()
    try:
        opts, args = parse(command.flags, argv, command.interspersed)
        command.args(args)
    except HelpRequested:
        from .help import command_help
        cli.out.write(command_help(full, command))
        return 0
    except FlagError as exc:
        cli.err.write(f"{exc}\n\nUsage:  {usage}\n\nRun '{full} --help' for more information\n")
        return 125
    except ArgsError as exc:
        cli.err.write(f"{PROG}: '{full}' {exc.reason}\n\nUsage:  {usage}\n\n"
                      f"{exc.hint} '{full} --help' for more information\n")
        return 1
    try:
        status = command.action(cli, opts, args)
    except StatusError as exc:
        if exc.message:
            cli.err.write(exc.message.rstrip("\n") + "\n")
        return exc.status
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes docker's one-line error
        from hako.client.errors import APIError, ClientError
        if isinstance(exc, APIError):
            cli.err.write(f"Error response from daemon: {exc.message}\n")
        elif isinstance(exc, ClientError):
            cli.err.write(f"{exc}\n")
        else:
            raise
        return 1
    return status or 0


def _no_such_command(cli: Cli, path: str, rest: list[str]) -> int:
    from .registry import GROUPS

    group = path.split(" ")[0]
    if group in GROUPS and " " not in path:
        from .help import group_help
        if rest and rest[0] not in ("--help", "-h"):
            cli.err.write(f"unknown flag: {rest[0]}\n")
            return 125
        cli.out.write(group_help(group))
        return 0
    if group in GROUPS:
        cli.err.write(f"{PROG}: unknown command: {PROG} {path}\n\nUsage:  {PROG} {group}\n\n"
                      f"Run '{PROG} {group} --help' for more information\n")
        return 1
    cli.err.write(f"{PROG}: unknown command: {PROG} {path}\n\n"
                  f"Run '{PROG} --help' for more information\n")
    return 1


def _default_sigpipe() -> None:
    # Like a Go or C program, die quietly on a closed pipe (`hako logs x | head`) instead of
    # raising BrokenPipeError. _signal avoids importing `signal` (and `enum`) on the hot path.
    import _signal
    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)


def _out(cli: Cli | None, text: str) -> None:
    (cli.out if cli else Cli().out).write(text)


def _err(cli: Cli | None, text: str) -> None:
    (cli.err if cli else Cli().err).write(text)


if __name__ == "__main__":
    sys.exit(main())
