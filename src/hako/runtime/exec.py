"""`exec`: start another process inside a running container, in all its namespaces and its cgroup."""

from __future__ import annotations

import os

from . import console, spec
from .cgroups import open_cgroup
from .errors import ContainerError, InvalidState
from .init import NS_PROC_NAMES, InitContext, compile_seccomp, intermediate
from .state import CREATED, RUNNING, StateStore
from .sync import Channel


class ExecOptions:
    def __init__(self, console_socket: str | None = None, pid_file: str | None = None, preserve_fds: int = 0):
        self.console_socket = console_socket
        self.pid_file = pid_file
        self.preserve_fds = preserve_fds


def exec_process(store: StateStore, container_id: str, process: dict, options: ExecOptions) -> int:
    """Start ``process`` (an OCI process object) in the container; return its host pid once it exec'd."""
    state = store.load(container_id)
    if state.status not in (RUNNING, CREATED):
        raise InvalidState(f"cannot exec in a {state.status} container")
    spec.validate_process(process, "process")
    console_conn = None
    if process.get("terminal") and options.console_socket:
        console_conn = console.connect(options.console_socket)
    join = _namespace_fds(state.pid, state.config)
    ctx = InitContext(state.config, state.rootfs, console_conn=console_conn,
                      preserve_fds=options.preserve_fds, join=join,
                      seccomp_program=compile_seccomp(state.config, store.seccomp_cache))
    parent, child = Channel.pair()
    intermediate_pid = os.fork()
    if intermediate_pid == 0:
        parent.close()
        intermediate(child, ctx, process, for_exec=True)
    child.close()
    for fd in join.values():
        os.close(fd)
    if console_conn is not None:
        console_conn.close()
    try:
        open_cgroup(state.cgroup_path, container_id).add_process(intermediate_pid)
        parent.send("go")
        pid = parent.expect("pid")["pid"]
        parent.send("setup")
        message = parent.recv()  # EOF: the process exec'd and its end of the channel closed
        if message is not None:
            if message.get("type") == "error":
                raise ContainerError(message["message"])
            raise ContainerError(f"exec: unexpected message {message['type']}")
    except BaseException:
        if _alive(intermediate_pid):
            os.kill(intermediate_pid, 9)
        raise
    finally:
        parent.close()
        try:
            os.waitpid(intermediate_pid, 0)
        except ChildProcessError:
            pass
    if options.pid_file:
        from .create import write_pid_file

        write_pid_file(options.pid_file, pid)
    return pid


def _alive(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False


def _namespace_fds(pid: int, config: dict) -> dict[str, int]:
    """Open every namespace of the container's init that differs from ours."""
    fds: dict[str, int] = {}
    for ns in config.get("linux", {}).get("namespaces", []):
        name = NS_PROC_NAMES[ns["type"]]
        theirs = f"/proc/{pid}/ns/{name}"
        try:
            if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
                continue
            fds[ns["type"]] = os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            for fd in fds.values():
                os.close(fd)
            raise ContainerError(f"exec: open {theirs}: {exc.strerror}") from None
    return fds
