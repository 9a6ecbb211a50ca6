"""`docker top`: the host's ``ps`` output, cut down to a container's processes.

As dockerd does, hako runs ``ps`` on the host with the caller's arguments (``-ef`` by default),
finds the PID column in the header, and keeps the rows whose PID is one of the container's::

    top([4242, 4250], "-ef")
    -> {"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
        "Processes": [["root", "4242", "4230", "0", "19:20", "?", "00:00:00", "sleep 100"], …]}

PIDs are host PIDs (the container's cgroup.procs). Errors: ``InvalidArgument`` for ``ps_args``
that would rename the PID column, ``SystemError`` when ``ps`` fails or prints no PID column,
worded as dockerd words them.
"""

from __future__ import annotations

import re
import subprocess

from .. import errdefs

# "-o pid=PID" style renaming of a column to "PID" would make another column pass for the PID
# one; dockerd refuses any "<name>=PID…" except pid's own.
_RENAMED_TO_PID = re.compile(r"\s+([^\s]*)=\s*(PID[^\s]*)")

# ps output is split on ASCII whitespace only (Go's fieldsASCII): a command line may hold
# Unicode spaces that must stay inside its field.
_ASCII_SPACE = re.compile(r"[\t\n\f\r ]+")


def top(pids: list[int], ps_args: str = "-ef", *, ps: str = "ps") -> dict:
    """{"Titles": [...], "Processes": [[...], ...]} for the processes in ``pids``."""
    ps_args = ps_args or "-ef"
    validate_ps_args(ps_args)
    # Split on single spaces, as dockerd does, so what reaches ps is what Docker would pass.
    args = ps_args.split(" ")
    # -q narrows ps to the container's processes; some options (such as f) refuse it, so
    # retry without, as dockerd does.
    quick = "-q" + ",".join(str(p) for p in pids)
    result = _run([ps, *args, quick]) if pids else None
    if result is None or result.returncode != 0:
        result = _run([ps, *args])
        if result.returncode != 0:
            first = result.stderr.split(b"\n", 1)[0].decode(errors="replace")
            raise errdefs.SystemError(f"ps: {first or f'exit status {result.returncode}'}")
    return parse_ps_output(result.stdout.decode(errors="replace"), pids)


def validate_ps_args(ps_args: str) -> None:
    for name, value in _RENAMED_TO_PID.findall(ps_args):
        if name != "pid":
            raise errdefs.InvalidArgument(f'specifying "{name}={value}" is not allowed')


def parse_ps_output(output: str, pids: list[int]) -> dict:
    """Rows of ``output`` whose PID column is in ``pids``, with their thread rows.

    The last column (the command) swallows the rest of a row, spaces included. With thread
    options (``-L``, ``m``) thread rows show "-" as PID and follow their process: they are kept
    when that process is.
    """
    lines = output.split("\n")
    titles = _fields(lines[0])
    if "PID" not in titles:
        raise errdefs.SystemError("Couldn't find PID field in ps output")
    pid_index = titles.index("PID")
    wanted = set(pids)
    processes = []
    keep_threads = False
    for line in lines[1:]:
        fields = _fields(line)
        if len(fields) <= pid_index:
            continue  # blank, or too short to have a PID: dockerd would crash here
        if fields[pid_index] == "-":
            if keep_threads:
                processes.append(_row(fields, len(titles)))
            continue
        try:
            pid = int(fields[pid_index])
        except ValueError:
            raise errdefs.SystemError(f"Unexpected pid '{fields[pid_index]}': invalid syntax") from None
        keep_threads = pid in wanted
        if keep_threads:
            processes.append(_row(fields, len(titles)))
    return {"Titles": titles, "Processes": processes}


def _fields(line: str) -> list[str]:
    return [f for f in _ASCII_SPACE.split(line) if f]


def _row(fields: list[str], columns: int) -> list[str]:
    """As many values as titles: the fields beyond the last title belong to the last column."""
    row = fields[:columns - 1] + [" ".join(fields[columns - 1:])]
    return row + [""] * (columns - len(row))


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except FileNotFoundError as exc:
        raise errdefs.SystemError(f"ps: exec: {argv[0]!r}: executable file not found in $PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise errdefs.SystemError(f"ps: no answer within {exc.timeout:g}s") from exc
