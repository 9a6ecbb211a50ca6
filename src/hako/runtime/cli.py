"""`hako-runtime`: the OCI runtime's command line, with runc's commands and flags.

Imports are kept light and deferred: this program starts for every container that Docker or
containerd run with it, so its start-up time is part of theirs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

VERSION = "0.1.0"


GLOBAL_FLAGS_WITH_VALUE = ("--root", "--log", "--log-format", "--rootless", "--criu")


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that command's subparser is built (start-up cost)."""
    p = argparse.ArgumentParser(prog="hako-runtime", description="An OCI runtime with runc's command line.")
    p.add_argument("--root", default="/run/hako-runtime", help="state directory (default /run/hako-runtime)")
    p.add_argument("--log", default=None, help="log file for errors (default stderr)")
    p.add_argument("--log-format", default="text", choices=("text", "json"))
    p.add_argument("--debug", action="store_true")
    # Accepted for compatibility with callers written for runc; hako-runtime has no use for them.
    p.add_argument("--systemd-cgroup", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rootless", default=None, help=argparse.SUPPRESS)
    p.add_argument("--criu", default=None, help=argparse.SUPPRESS)
    p.add_argument("-v", "--version", action="version", version=f"hako-runtime version {VERSION}\nspec: 1.0.2")
    sub = p.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    for name, (help_, takes_id, add_flags) in _SUBCOMMANDS.items():
        if only is None or name == only:
            c = sub.add_parser(name, help=help_)
            if takes_id:
                c.add_argument("id", metavar="container-id")
            add_flags(c)
    return p


def _command_in(argv: list[str]) -> str | None:
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in GLOBAL_FLAGS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg if arg in _SUBCOMMANDS else None
    return None


def _create_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("-b", "--bundle", default=".")
    c.add_argument("--console-socket")
    c.add_argument("--pid-file")
    c.add_argument("--no-pivot", action="store_true")
    c.add_argument("--no-new-keyring", action="store_true")
    c.add_argument("--preserve-fds", type=int, default=0)


def _run_flags(c: argparse.ArgumentParser) -> None:
    _create_flags(c)
    c.add_argument("-d", "--detach", action="store_true")
    c.add_argument("--keep", action="store_true", help="do not delete the container after it exits")


def _kill_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("signal", nargs="?", default="SIGTERM")
    c.add_argument("-a", "--all", action="store_true")


def _delete_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("-f", "--force", action="store_true")


def _list_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("-f", "--format", default="table", choices=("table", "json"))
    c.add_argument("-q", "--quiet", action="store_true")


def _ps_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("-f", "--format", default="table", choices=("table", "json"))
    c.add_argument("ps_args", nargs=argparse.REMAINDER)


def _update_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("-r", "--resources", help="OCI linux.resources JSON file, or - for stdin")
    for flag in ("memory", "memory-reservation", "memory-swap", "kernel-memory", "cpu-shares", "cpu-quota",
                 "cpu-period", "cpu-rt-period", "cpu-rt-runtime", "pids-limit", "blkio-weight"):
        c.add_argument(f"--{flag}")
    c.add_argument("--cpuset-cpus")
    c.add_argument("--cpuset-mems")


def _exec_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("-p", "--process", help="OCI process JSON file, or - for stdin")
    c.add_argument("-t", "--tty", action="store_true")
    c.add_argument("-e", "--env", action="append", default=[])
    c.add_argument("--cwd")
    c.add_argument("-u", "--user", help="uid[:gid]")
    c.add_argument("-g", "--additional-gids", action="append", default=[])
    c.add_argument("-c", "--cap", action="append", default=[])
    c.add_argument("--no-new-privs", action="store_true")
    c.add_argument("-d", "--detach", action="store_true")
    c.add_argument("--pid-file")
    c.add_argument("--console-socket")
    c.add_argument("--preserve-fds", type=int, default=0)
    c.add_argument("--process-label", help=argparse.SUPPRESS)
    c.add_argument("--apparmor", help=argparse.SUPPRESS)
    c.add_argument("--ignore-paused", action="store_true")
    c.add_argument("command", nargs=argparse.REMAINDER)


def _spec_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("-b", "--bundle", default=".")
    c.add_argument("--rootless", action="store_true")


def _no_flags(c: argparse.ArgumentParser) -> None:
    pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(_command_in(argv)).parse_args(argv)
    from .errors import HakoRuntimeError

    try:
        return _COMMANDS[args.subcommand](args) or 0
    except HakoRuntimeError as exc:
        _log_error(args, str(exc))
        return 1
    except OSError as exc:
        _log_error(args, f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug, but the caller (containerd) needs the log line
        _log_error(args, f"internal error: {type(exc).__name__}: {exc}")
        raise


def _log_error(args, message: str) -> None:
    """Print the error; with --log also record it there, in the format containerd parses."""
    print(f"hako-runtime: {message}", file=sys.stderr)
    if not args.log:
        return
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    if args.log_format == "json":
        line = json.dumps({"level": "error", "msg": message, "time": now})
    else:
        line = f'time="{now}" level=error msg={json.dumps(message)}'
    try:
        with open(args.log, "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


def _runtime(args):
    from .runtime import Runtime

    return Runtime(args.root, warn=lambda m: print(f"hako-runtime: warning: {m}", file=sys.stderr))


def _create_options(args):
    from .create import CreateOptions

    return CreateOptions(console_socket=args.console_socket, pid_file=args.pid_file,
                         no_pivot=args.no_pivot, preserve_fds=args.preserve_fds)


def cmd_create(args) -> int:
    _runtime(args).create(args.id, args.bundle, _create_options(args))
    return 0


def cmd_run(args) -> int:
    from .foreground import run_container

    return run_container(_runtime(args), args.id, args.bundle, _create_options(args),
                         detach=args.detach, keep=args.keep)


def cmd_start(args) -> int:
    _runtime(args).start(args.id)
    return 0


def cmd_state(args) -> int:
    print(json.dumps(_runtime(args).state(args.id).oci(), indent=2))
    return 0


def cmd_kill(args) -> int:
    from .signals import parse_signal

    _runtime(args).kill(args.id, parse_signal(args.signal), all_processes=args.all)
    return 0


def cmd_delete(args) -> int:
    from .errors import NotFound

    try:
        _runtime(args).delete(args.id, force=args.force)
    except NotFound:
        if not args.force:
            raise
    return 0


def cmd_list(args) -> int:
    states = _runtime(args).list()
    if args.quiet:
        for s in states:
            print(s.id)
    elif args.format == "json":
        print(json.dumps([s.oci() for s in states]))
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s.id, str(s.pid if s.status != "stopped" else 0), s.status, s.bundle, s.created, s.owner)
                 for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            print("   ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    return 0


def cmd_ps(args) -> int:
    pids = _runtime(args).pids(args.id)
    if args.format == "json":
        print(json.dumps(pids))
        return 0
    import subprocess

    ps_args = [a for a in args.ps_args if a != "--"] or ["-ef"]
    out = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=True).stdout.splitlines()
    header = out[0].split()
    pid_column = header.index("PID")
    print(out[0])
    for line in out[1:]:
        fields = line.split()
        if len(fields) > pid_column and fields[pid_column].isdigit() and int(fields[pid_column]) in pids:
            print(line)
    return 0


def cmd_pause(args) -> int:
    _runtime(args).pause(args.id)
    return 0


def cmd_resume(args) -> int:
    _runtime(args).resume(args.id)
    return 0


def cmd_update(args) -> int:
    from .resources_flags import resources_from_flags

    _runtime(args).update(args.id, resources_from_flags(args))
    return 0


def cmd_exec(args) -> int:
    from .foreground import exec_in_container
    from .process_flags import process_from_flags

    runtime = _runtime(args)
    process = process_from_flags(runtime.state(args.id).config, args)
    return exec_in_container(runtime, args.id, process, args)


def cmd_features(args) -> int:
    from .features import features

    print(json.dumps(features(), indent=2))
    return 0


def cmd_spec(args) -> int:
    from .defaults import default_spec

    path = os.path.join(args.bundle, "config.json")
    if os.path.exists(path):
        print(f"hako-runtime: File {path} exists. Remove it first", file=sys.stderr)
        return 1
    with open(path, "w") as f:
        json.dump(default_spec(), f, indent=2)
    return 0


# name -> (help, takes a container id, flags)
_SUBCOMMANDS = {
    "create": ("create a container; its process waits for start", True, _create_flags),
    "run": ("create and start a container, and wait for it unless --detach", True, _run_flags),
    "start": ("start the process of a created container", True, _no_flags),
    "state": ("print the state of a container as JSON", True, _no_flags),
    "kill": ("send a signal to the container's init process", True, _kill_flags),
    "delete": ("delete a container and its resources", True, _delete_flags),
    "list": ("list containers", False, _list_flags),
    "ps": ("list the processes of a container", True, _ps_flags),
    "pause": ("freeze all processes of a container", True, _no_flags),
    "resume": ("thaw a paused container", True, _no_flags),
    "update": ("change the resource limits of a container", True, _update_flags),
    "exec": ("run a process in a running container", True, _exec_flags),
    "features": ("print the features this runtime implements, as JSON", False, _no_flags),
    "spec": ("write a default config.json into the bundle", False, _spec_flags),
}
_COMMANDS = {
    "create": cmd_create, "run": cmd_run, "start": cmd_start, "state": cmd_state, "kill": cmd_kill,
    "delete": cmd_delete, "list": cmd_list, "ps": cmd_ps, "pause": cmd_pause, "resume": cmd_resume,
    "update": cmd_update, "exec": cmd_exec, "features": cmd_features, "spec": cmd_spec,
}

if __name__ == "__main__":
    sys.exit(main())
