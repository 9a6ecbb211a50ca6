"""The runtime as a library: every runc operation on containers kept under one state root.

    rt = Runtime("/run/hako-runtime")
    rt.create("web", "/path/to/bundle", CreateOptions())   # init waits for start
    rt.start("web")                                          # init execs process.args
    rt.kill("web", signal.SIGTERM)
    rt.delete("web")                                         # once stopped (or force=True)

Each operation is: load the state (its status recomputed from the kernel), ask the state whether
the operation is allowed, act, save. hakod calls this from its warm per-container monitor; the
`hako-runtime` CLI is a thin shell around it.
"""

from __future__ import annotations

import os
import select
import signal
import time

from . import spec
from .cgroups import open_cgroup
from .create import CreateOptions, create_container, kill_and_wait
from .errors import ContainerError, InvalidState, NotFound
from .exec import ExecOptions, exec_process
from .state import PAUSED, RUNNING, STOPPED, ContainerState, StateStore, process_start_time

DEFAULT_ROOT = "/run/hako-runtime"
START_TIMEOUT = 10.0


class Runtime:
    def __init__(self, root: str = DEFAULT_ROOT, warn=None):
        self.store = StateStore(root)
        self.warn = warn or (lambda message: None)

    def create(self, container_id: str, bundle: str, options: CreateOptions | None = None) -> ContainerState:
        return create_container(self.store, container_id, bundle, options or CreateOptions())

    def start(self, container_id: str) -> ContainerState:
        state = self.store.load(container_id)
        if not state.can_start():
            raise InvalidState(_cannot("start", state))
        self._release_init(state)
        state.status = RUNNING
        self.store.save(state)
        hooks = state.config.get("hooks", {}).get("poststart")
        if hooks:
            from .hooks import run_hooks

            try:
                run_hooks(hooks, "poststart", state.oci())
            except ContainerError as exc:
                self.warn(str(exc))
        return state

    def _release_init(self, state: ContainerState) -> None:
        """Open exec.fifo for reading: init's blocked open for writing returns and it execs."""
        fifo = self.store.fifo(state.id)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready and os.read(fd, 1):
                    break
                if process_start_time(state.pid) != state.init_start_time:
                    raise ContainerError(f"container {state.id}: init exited before start")
                if time.monotonic() > deadline:
                    raise ContainerError(f"container {state.id}: init did not respond to start")
        finally:
            os.close(fd)
        os.unlink(fifo)

    def state(self, container_id: str) -> ContainerState:
        return self.store.load(container_id)

    def list(self) -> list[ContainerState]:
        states = []
        for container_id in self.store.ids():
            try:
                states.append(self.store.load(container_id))
            except NotFound:  # deleted while we listed
                continue
        return states

    def kill(self, container_id: str, sig: int, all_processes: bool = False) -> None:
        state = self.store.load(container_id)
        if not state.can_kill():
            raise InvalidState("container not running")
        pids = self.pids(container_id) if all_processes else [state.pid]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if state.status == PAUSED and sig == signal.SIGKILL:
            # A frozen task only dies once thawed.
            open_cgroup(state.cgroup_path, state.id).thaw()

    def delete(self, container_id: str, force: bool = False) -> None:
        state = self.store.load(container_id)
        if not state.can_delete() and not force:
            raise InvalidState(f"cannot delete container {container_id} that is not stopped: {state.status}")
        cgroup = open_cgroup(state.cgroup_path, container_id)
        if state.status == PAUSED:
            # A frozen task only dies once thawed: queue the kill, then thaw, then wait.
            try:
                os.kill(state.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            cgroup.thaw()
        if state.status != STOPPED:
            kill_and_wait(state.pid)
        if cgroup.exists():
            for pid in cgroup.pids():
                kill_and_wait(pid)
            cgroup.destroy()
        self.store.remove(container_id)
        hooks = state.config.get("hooks", {}).get("poststop")
        if hooks:
            from .hooks import run_poststop

            state.status = STOPPED
            run_poststop(hooks, state.oci(), self.warn)

    def pause(self, container_id: str) -> None:
        state = self.store.load(container_id)
        if not state.can_pause():
            raise InvalidState("container not running")
        open_cgroup(state.cgroup_path, container_id).freeze()
        state.status = PAUSED
        self.store.save(state)

    def resume(self, container_id: str) -> None:
        state = self.store.load(container_id)
        if not state.can_resume():
            raise InvalidState("container not paused")
        open_cgroup(state.cgroup_path, container_id).thaw()
        state.status = RUNNING
        self.store.save(state)

    def pids(self, container_id: str) -> list[int]:
        state = self.store.load(container_id)
        cgroup = open_cgroup(state.cgroup_path, container_id)
        return cgroup.pids() if cgroup.exists() else []

    def stats(self, container_id: str) -> dict:
        state = self.store.load(container_id)
        return open_cgroup(state.cgroup_path, container_id).stats()

    def update(self, container_id: str, resources: dict) -> None:
        """Apply new limits; ``resources`` is an OCI linux.resources object merged over the old one."""
        state = self.store.load(container_id)
        if state.status == STOPPED:
            raise InvalidState("container not running")
        spec.validate_resources(resources)
        linux = state.config.setdefault("linux", {})
        merged = _merge(linux.get("resources") or {}, resources)
        open_cgroup(state.cgroup_path, container_id).apply(resources)
        linux["resources"] = merged
        self.store.save(state)

    def exec(self, container_id: str, process: dict, options: ExecOptions | None = None) -> int:
        return exec_process(self.store, container_id, process, options or ExecOptions())


def _merge(old: dict, new: dict) -> dict:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _cannot(action: str, state: ContainerState) -> str:
    # runc's wording for lifecycle errors.
    if state.status == RUNNING:
        return f"cannot {action} an already running container"
    if state.status == STOPPED:
        return f"cannot {action} a container that has stopped"
    return f"cannot {action} a container in the {state.status} state"


def wait_for_exit(pid: int) -> int:
    """Wait for our child ``pid`` (we are its parent or subreaper); return a shell-style status."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status)
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)

