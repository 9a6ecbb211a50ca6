"""`create`: turn a bundle into a container whose init process waits for `start`.

Failure at any step (bad config, a mount, a missing binary, a hook) undoes every earlier one: the
init process is killed, the cgroup removed and the state directory deleted. Mounts need no undo:
they live in the container's mount namespace and vanish with its last process.
"""

from __future__ import annotations

import datetime
import os
import signal
import time

from . import console, spec
from .cgroups import open_cgroup
from .devices import with_default_rules
from .errors import ConfigError, ContainerError
from .init import InitContext, compile_seccomp, intermediate
from .state import CREATED, ContainerState, StateStore, process_start_time
from .sync import Channel


class CreateOptions:
    def __init__(self, console_socket: str | None = None, pid_file: str | None = None,
                 no_pivot: bool = False, preserve_fds: int = 0):
        self.console_socket = console_socket
        self.pid_file = pid_file
        self.no_pivot = no_pivot
        self.preserve_fds = preserve_fds


def create_container(store: StateStore, container_id: str, bundle: str, options: CreateOptions) -> ContainerState:
    bundle = os.path.abspath(bundle)
    config = spec.load_config(bundle)
    rootfs = os.path.join(bundle, config["root"]["path"])
    if not os.path.isdir(rootfs):
        raise ConfigError(f"root.path: {rootfs} is not a directory")
    join = _open_namespaces(config)
    store.reserve(container_id)
    state = ContainerState(
        id=container_id, bundle=bundle, rootfs=rootfs, config=config,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
        owner="root" if os.geteuid() == 0 else str(os.geteuid()),
        annotations=config.get("annotations", {}),
        cgroup_path=config.get("linux", {}).get("cgroupsPath") or f"/hako/{container_id}",
    )
    cgroup = None
    try:
        cgroup = open_cgroup(state.cgroup_path, container_id)
        cgroup.create()
        cgroup.apply(with_default_rules(config.get("linux", {}).get("resources") or {}))
        fifo = store.fifo(container_id)
        os.mkfifo(fifo, 0o622)
        # As runc: writable by the container's root whatever our umask, and owned by it, so an
        # init in a user namespace (root there, an unprivileged uid here) can open it.
        os.chmod(fifo, 0o622)
        os.chown(fifo, _host_id(config, "uid"), _host_id(config, "gid"))
        fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        console_conn = None
        if config["process"].get("terminal") and options.console_socket:
            console_conn = console.connect(options.console_socket)
        ctx = InitContext(config, rootfs, fifo_fd=fifo_fd, console_conn=console_conn,
                          no_pivot=options.no_pivot, preserve_fds=options.preserve_fds, join=join,
                          seccomp_program=compile_seccomp(config, store.seccomp_cache))
        try:
            _spawn(store, state, ctx, cgroup)
        finally:
            os.close(fifo_fd)
            if console_conn is not None:
                console_conn.close()  # init holds its own copy
    except BaseException:
        _undo(store, state, cgroup)
        raise
    finally:
        for fd in join.values():
            os.close(fd)
    if options.pid_file:
        write_pid_file(options.pid_file, state.pid)
    return state


def _open_namespaces(config: dict) -> dict[str, int]:
    """Open the namespaces the config asks to join, failing early on a bad path."""
    join: dict[str, int] = {}
    try:
        for i, ns in enumerate(config.get("linux", {}).get("namespaces", [])):
            if ns.get("path"):
                try:
                    join[ns["type"]] = os.open(ns["path"], os.O_RDONLY | os.O_CLOEXEC)
                except OSError as exc:
                    raise ConfigError(f"linux.namespaces[{i}].path: {ns['path']}: {exc.strerror}") from None
    except BaseException:
        for fd in join.values():
            os.close(fd)
        raise
    return join


def _spawn(store: StateStore, state: ContainerState, ctx: InitContext, cgroup) -> None:
    config = ctx.config
    parent, child = Channel.pair()
    pid = os.fork()
    if pid == 0:
        parent.close()
        intermediate(child, ctx, config["process"], for_exec=False)
    child.close()
    try:
        cgroup.add_process(pid)
        parent.send("go")
        if any(ns["type"] == "user" and not ns.get("path") for ns in config["linux"].get("namespaces", [])):
            parent.expect("userns")
            write_id_maps(pid, config["linux"])
            parent.send("mapped")
        state.pid = parent.expect("pid")["pid"]
        state.init_start_time = process_start_time(state.pid) or 0
        store.save(state)
        parent.send("setup")
        parent.expect("hooks")
        hooks = config.get("hooks", {})
        if hooks.get("prestart") or hooks.get("createRuntime"):
            from .hooks import run_hooks

            run_hooks(hooks.get("prestart", []), "prestart", state.oci())
            run_hooks(hooks.get("createRuntime", []), "createRuntime", state.oci())
        parent.send("hooks-done", state=state.oci())
        parent.expect("ready")
    finally:
        parent.close()
        _reap(pid)
    state.status = CREATED
    store.save(state)


def _host_id(config: dict, kind: str) -> int:
    """The host uid (or gid) of the container's root: 0 unless a user namespace maps it."""
    for m in config.get("linux", {}).get(f"{kind}Mappings") or []:
        if m["containerID"] <= 0 < m["containerID"] + m["size"]:
            return m["hostID"] - m["containerID"]
    return 0


def write_id_maps(pid: int, linux: dict) -> None:
    for kind in ("uid", "gid"):
        mappings = linux.get(f"{kind}Mappings", [])
        lines = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in mappings)
        try:
            with open(f"/proc/{pid}/{kind}_map", "w") as f:
                f.write(lines)
        except OSError as exc:
            raise ContainerError(f"linux.{kind}Mappings: writing {kind}_map: {exc.strerror}") from None


def write_pid_file(path: str, pid: int) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _undo(store: StateStore, state: ContainerState, cgroup) -> None:
    if state.pid:
        kill_and_wait(state.pid)
    if cgroup is not None:
        for pid in _safe_pids(cgroup):
            kill_and_wait(pid)
        try:
            cgroup.destroy()
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass
    store.remove(state.id)


def _safe_pids(cgroup) -> list[int]:
    try:
        return cgroup.pids()
    except Exception:  # noqa: BLE001
        return []


def kill_and_wait(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL a process and wait until it is gone or a zombie (whoever its parent is)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            if process_start_time(pid) is None:
                return
        time.sleep(0.001)

