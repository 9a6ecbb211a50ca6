"""The code that runs in the forked children, on the container's side of the fence.

    runtime (parent)
      └─ fork: intermediate  joins/creates namespaces; unshare(CLONE_NEWPID) only affects children,
           └─ fork: init      so the intermediate forks once more and exits. init is PID 1 of the
                              container: it builds the rootfs, waits for `start`, then execs.

For `exec` the same two steps join the namespaces of a running container instead of making new
ones. Nothing here returns to the caller: each child ends in execve or os._exit.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import stat

from ..linux import capabilities, netdev
from ..linux import syscalls as sc
from . import console, rootfs
from .sync import Channel, child_fail

NS_FLAGS = {
    "pid": sc.CLONE_NEWPID, "network": sc.CLONE_NEWNET, "mount": sc.CLONE_NEWNS,
    "ipc": sc.CLONE_NEWIPC, "uts": sc.CLONE_NEWUTS, "user": sc.CLONE_NEWUSER,
    "cgroup": sc.CLONE_NEWCGROUP, "time": sc.CLONE_NEWTIME,
}
NS_PROC_NAMES = {
    "pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
    "user": "user", "cgroup": "cgroup", "time": "time",
}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class InitContext:
    """What the children need beyond config.json, prepared by the parent before fork."""

    def __init__(self, config: dict, rootfs: str, fifo_fd: int | None = None,
                 console_conn: socket.socket | None = None, no_pivot: bool = False,
                 preserve_fds: int = 0, join: dict[str, int] | None = None,
                 seccomp_program: bytes | None = None):
        self.config = config
        self.rootfs = rootfs
        self.fifo_fd = fifo_fd
        self.console_conn = console_conn  # connected on the host side, see console.connect
        # For exec, connected by the runtime: the socket's path is not reachable after setns(mnt).
        self.no_pivot = no_pivot
        self.preserve_fds = preserve_fds
        self.join = join or {}          # namespace type -> open fd to setns into
        # The compiled filter, made on the host side: after pivot_root the cache is out of reach.
        self.seccomp_program = seccomp_program


def intermediate(channel: Channel, ctx: InitContext, process: dict, for_exec: bool) -> None:
    """First child: enter the namespaces, then fork the process that will exec."""
    try:
        channel.expect("go")
        namespaces = ctx.config.get("linux", {}).get("namespaces", [])
        # setns into the user namespace first: it grants the rights to join the others.
        for kind in sorted(ctx.join, key=lambda k: (k != "user", k == "mount")):
            sc.setns(ctx.join[kind], NS_FLAGS[kind])
            os.close(ctx.join[kind])
        if not for_exec:
            new = [ns["type"] for ns in namespaces if not ns.get("path")]
            if "user" in new:
                sc.unshare(sc.CLONE_NEWUSER)
                channel.send("userns")
                channel.expect("mapped")
                os.setresgid(0, 0, 0)
                os.setresuid(0, 0, 0)
            flags = 0
            for kind in new:
                if kind != "user":
                    flags |= NS_FLAGS[kind]
            if flags:
                sc.unshare(flags)
        pid = os.fork()
    except Exception as exc:  # noqa: BLE001 - every failure must reach the parent as a message
        child_fail(channel, f"{'exec' if for_exec else 'create'}: {exc}")
        return
    if pid == 0:
        if for_exec:
            _exec_process(channel, ctx, process)
        else:
            _container_init(channel, ctx, process)
        os._exit(1)  # not reached
    channel.send("pid", pid=pid)
    os._exit(0)


def _container_init(channel: Channel, ctx: InitContext, process: dict) -> None:
    config = ctx.config
    try:
        channel.expect("setup")
        namespaces = config.get("linux", {}).get("namespaces", [])
        in_userns = any(ns["type"] == "user" for ns in namespaces)
        if any(ns["type"] == "network" and not ns.get("path") for ns in namespaces):
            # As runc: a new network namespace gets its loopback interface up.
            netdev.set_up("lo")
        console_conn = _connect_console(ctx, process)
        rootfs.prepare(config, ctx.rootfs, in_userns=in_userns)
        channel.send("hooks")
        state = channel.expect("hooks-done")["state"]
        if config.get("hooks", {}).get("createContainer"):
            from .hooks import run_hooks

            run_hooks(config["hooks"]["createContainer"], "createContainer", state)
        rootfs.pivot(ctx.rootfs, ctx.no_pivot)
        # A missing cwd is made now, before finish() may turn the root read-only (runc's order).
        os.makedirs(process["cwd"], 0o755, exist_ok=True)
        if console_conn is not None:
            _setup_terminal(console_conn, process, dev_console=True)
        rootfs.finish(config)
        rootfs.set_hostname(config)
        _setup_process(process)
        executable = lookup_executable(process)
        channel.send("ready")
    except Exception as exc:  # noqa: BLE001
        child_fail(channel, f"unable to start container process: {_describe(exc)}")
        return
    channel.close()
    try:
        # Blocks until `start` opens the fifo for reading (runc's exec.fifo handshake).
        fd = os.open(f"/proc/self/fd/{ctx.fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
        os.write(fd, b"0")
        os.close(fd)
        os.close(ctx.fifo_fd)
        hooks = config.get("hooks", {}).get("startContainer")
        if hooks:
            from .hooks import run_hooks

            run_hooks(hooks, "startContainer", dict(state, status="running"))
        _finalize_and_exec(process, ctx, executable)
    except Exception as exc:  # noqa: BLE001 - nobody is listening any more: tell the container's stderr
        os.write(2, f"hako-runtime init: {_describe(exc)}\n".encode())
        os._exit(127 if isinstance(exc, FileNotFoundError) else 1)


def _exec_process(channel: Channel, ctx: InitContext, process: dict) -> None:
    try:
        channel.expect("setup")
        console_conn = _connect_console(ctx, process)
        if console_conn is not None:
            _setup_terminal(console_conn, process, dev_console=False)
        _setup_process(process)
        executable = lookup_executable(process)
        _finalize_and_exec(process, ctx, executable)
    except Exception as exc:  # noqa: BLE001
        child_fail(channel, f"exec failed: unable to start container process: {_describe(exc)}")


def _describe(exc: Exception) -> str:
    """One line for the user: OSError's message with its path, without the "[Errno N]" prefix."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)


def _connect_console(ctx: InitContext, process: dict) -> socket.socket | None:
    if not process.get("terminal"):
        return None
    if ctx.console_conn is None:
        raise ValueError("process.terminal is set but no --console-socket was given")
    return ctx.console_conn


def _setup_terminal(conn: socket.socket, process: dict, dev_console: bool) -> None:
    size = process.get("consoleSize") or {}
    master, slave = console.open_pty(size.get("height", 0), size.get("width", 0))
    if dev_console:
        # /dev/console is the pty slave, as runc sets it up.
        pts = os.ttyname(slave)
        if not os.path.exists("/dev/console"):
            with open("/dev/console", "a"):
                pass
        sc.mount(pts, "/dev/console", None, sc.MS_BIND)
    socket.send_fds(conn, [b"/dev/ptmx"], [master])
    conn.close()
    os.close(master)
    console.make_controlling(slave)


def _setup_process(process: dict) -> None:
    for rlimit in process.get("rlimits", []):
        kind = getattr(resource, rlimit["type"], None)
        if kind is None:
            raise ValueError(f"process.rlimits: {rlimit['type']} is not supported on this system")
        try:
            resource.setrlimit(kind, (rlimit["soft"], rlimit["hard"]))
        except (ValueError, OSError) as exc:  # EPERM comes as ValueError("not allowed to raise ...")
            raise ValueError(f"process.rlimits: {rlimit['type']} {rlimit['soft']}/{rlimit['hard']}: {exc}") from None
    if process.get("oomScoreAdj") is not None:
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(process["oomScoreAdj"]))
        except OSError as exc:
            raise OSError(exc.errno, f"process.oomScoreAdj {process['oomScoreAdj']}: {exc.strerror}") from None
    umask = (process.get("user") or {}).get("umask")
    os.umask(0o022 if umask is None else umask)
    cwd = process["cwd"]
    try:
        os.chdir(cwd)
    except FileNotFoundError:
        os.makedirs(cwd, 0o755, exist_ok=True)
        os.chdir(cwd)


def process_env(process: dict) -> dict[str, str]:
    env = {}
    for item in process.get("env", []):
        key, _, value = item.partition("=")
        env[key] = value
    return env


def lookup_executable(process: dict) -> str:
    """Resolve args[0] as Go's exec.LookPath does, with runc's error wording."""
    name = process["args"][0]
    env = process_env(process)
    if "/" in name:
        candidates = [name]
    else:
        candidates = [os.path.join(d or ".", name) for d in env.get("PATH", DEFAULT_PATH).split(":")]
    for path in candidates:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) or not st.st_mode & 0o111:
            if "/" in name:
                raise PermissionError(13, f'exec: "{name}": permission denied')
            continue
        return path
    if "/" in name:
        raise FileNotFoundError(2, f'exec: "{name}": stat {name}: no such file or directory')
    raise FileNotFoundError(2, f'exec: "{name}": executable file not found in $PATH')


def _finalize_and_exec(process: dict, ctx: InitContext, executable: str) -> None:
    """Drop to the process's user and privileges, then execve. Order follows runc."""
    nnp = bool(process.get("noNewPrivileges"))
    if ctx.seccomp_program and not nnp:
        # Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we still have it.
        _load_seccomp(ctx)
    caps = process.get("capabilities")
    if caps is not None:
        # Before the user change, which empties the effective set that dropping needs (as runc).
        capabilities.drop_bounding(caps.get("bounding", []))
    user = process.get("user") or {}
    uid, gid = user.get("uid", 0), user.get("gid", 0)
    sc.prctl(sc.PR_SET_KEEPCAPS, 1)
    os.setgroups(user.get("additionalGids") or [])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    sc.prctl(sc.PR_SET_KEEPCAPS, 0)
    if caps is not None:
        capabilities.apply(caps.get("bounding", []), caps.get("effective", []), caps.get("permitted", []),
                           caps.get("inheritable", []), caps.get("ambient", []))
    if nnp:
        sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
        if ctx.seccomp_program:
            _load_seccomp(ctx)
    for fd in range(3, 3 + ctx.preserve_fds):
        os.set_inheritable(fd, True)
    _default_signals()
    os.execve(executable, process["args"], process_env(process))


def _default_signals() -> None:
    """Ignored signals survive execve: Python ignores SIGPIPE and SIGXFSZ, and a caller may ignore
    more. The container's process starts with every disposition at its default, as under runc."""
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if signal.getsignal(sig) == signal.SIG_IGN or sig in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError, TypeError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _load_seccomp(ctx: InitContext) -> None:
    from . import seccomp

    seccomp.load_program(ctx.seccomp_program, seccomp.kernel_flags(ctx.config["linux"]["seccomp"]))


def compile_seccomp(config: dict, cache_dir: str) -> bytes | None:
    """The container's seccomp filter as BPF, from the runtime's cache (host side, before fork)."""
    spec = config.get("linux", {}).get("seccomp")
    if not spec:
        return None
    from . import seccomp

    return seccomp.bpf_program(spec, cache_dir)
