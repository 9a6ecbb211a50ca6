"""Processes exec'd into running containers: each runs under its own monitor, like a container's init."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import uuid

from ..containers import ocispec
from ..containers.imageconfig import merge_env
from ..containers.model import PAUSED, RUNNING, Container, ExecConfig
from ..errdefs import Conflict, InvalidArgument, NotFound
from . import monitors

log = logging.getLogger(__name__)


class ExecStartFailed(Conflict):
    """The exec's process could not be started; its exit code is recorded already."""


class ExecManager:
    def __init__(self, engine):
        self.engine = engine
        self.execs: dict[str, ExecConfig] = {}
        self.finished: dict[str, asyncio.Event] = {}

    def get(self, exec_id: str) -> ExecConfig:
        found = self.execs.get(exec_id)
        if found is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return found

    def directory(self, exec_id: str) -> str:
        return os.path.join(self.engine.config.exec_root, "m", "x" + exec_id[:23])   # short: see ContainerManager.monitor_dir

    def create(self, container: Container, config: ExecConfig) -> ExecConfig:
        self._check_running(container)
        config.id = uuid.uuid4().hex + uuid.uuid4().hex
        config.container_id = container.id
        self.execs[config.id] = config
        self.finished[config.id] = asyncio.Event()
        self.engine.containers._event(container, "exec_create: " + " ".join(config.cmd), execID=config.id)
        return config

    def _check_running(self, container: Container) -> None:
        if container.state.status == PAUSED:
            raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
        if container.state.status != RUNNING:
            raise Conflict(f"Container {container.id} is not running")

    def _process(self, container: Container, config: ExecConfig) -> dict:
        bundle = os.path.join(self.engine.containers.run_dir(container.id), "bundle", "config.json")
        with open(bundle) as f:
            spec = json.load(f)
        process = dict(spec["process"])
        rootfs = spec["root"]["path"]
        env = list(process.get("env", []))
        if config.user:
            uid, gid, extra = ocispec.resolve_user(rootfs, config.user)
            process["user"] = {"uid": uid, "gid": gid, **({"additionalGids": extra} if extra else {})}
            # HOME follows the exec's user, unless the container's own env set it.
            if not any(item.startswith("HOME=") for item in container.config.env):
                env = ocispec.with_home([e for e in env if not e.startswith("HOME=")], ocispec.home_dir(rootfs, uid))
        env = merge_env(env, config.env)
        if config.tty and not any(e.startswith("TERM=") for e in env):
            env.append("TERM=xterm")
        process.update(args=list(config.cmd), env=env, terminal=config.tty,
                       cwd=config.working_dir or process.get("cwd", "/"))
        if config.privileged:
            caps = ocispec.all_capabilities()
            process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
        if config.tty and config.console_size != (0, 0):
            process["consoleSize"] = {"height": config.console_size[0], "width": config.console_size[1]}
        else:
            process.pop("consoleSize", None)
        return process

    def check_startable(self, config: ExecConfig) -> Container:
        """What Docker refuses with a status before the stream is hijacked."""
        container = self.engine.containers.get(config.container_id)
        if config.running or config.exit_code is not None:
            raise Conflict(f"Error: Exec command {config.id} has already run")
        self._check_running(container)
        return container

    async def prepare(self, config: ExecConfig) -> str:
        """Start the exec's monitor; the process runs once `start` is called on it.

        A process that cannot be made (an unknown user) is recorded as exited with 126 and
        raised as ExecStartFailed, which Docker reports on the hijacked stream."""
        container = self.check_startable(config)
        try:
            process = self._process(container, config)
        except InvalidArgument as exc:
            config.exit_code = 126
            self.finished[config.id].set()
            raise ExecStartFailed(f"OCI runtime exec failed: exec failed: unable to start container process: "
                                  f"{exc}: unknown") from None
        directory = self.directory(config.id)
        status_fd = self.engine.zygote.spawn({
            "mode": "exec", "id": container.id, "dir": directory, "runtime_root": self.engine.config.runtime_root,
            "process": process, "tty": config.tty, "stdin": config.attach_stdin,
            "stdin_once": True, "console_size": list(config.console_size),
        })
        try:
            await monitors.read_status(status_fd)
        except asyncio.CancelledError:
            # The monitor may be up already, waiting for a start nobody will send.
            self.engine.containers._spawn(monitors.abort(directory, "exec cancelled"))
            raise
        config.running = True
        return directory

    async def start(self, config: ExecConfig, directory: str) -> None:
        container = self.engine.containers.get(config.container_id)
        try:
            reply = await monitors.call(directory, {"op": "start"})
        except monitors.MonitorError as exc:
            config.running = False
            message = str(exc)
            config.exit_code = 127 if "not found" in message or "no such file" in message.lower() else 126
            self._set_finished(config)
            self._watch_later(config, directory)
            detail = message.removeprefix("exec failed: ")    # the runtime's own prefix, said once
            raise Conflict(f"OCI runtime exec failed: exec failed: {detail}: unknown") from None
        config.pid = reply["pid"]
        self.engine.containers._event(container, "exec_start: " + " ".join(config.cmd), execID=config.id)
        self._watch_later(config, directory)

    def _watch_later(self, config: ExecConfig, directory: str) -> None:
        self.engine.containers._spawn(self._watch(config, directory))

    async def _watch(self, config: ExecConfig, directory: str) -> None:
        record = await monitors.watch(directory)
        if config.exit_code is None:
            config.exit_code = record["code"] if record else 126
        config.running = False      # the pid stays: Docker's exec inspect keeps it after the end
        self._set_finished(config)
        container = self.engine.containers.find(config.container_id)
        if container is not None:
            self.engine.containers._event(container, "exec_die", execID=config.id, exitCode=str(config.exit_code))
        shutil.rmtree(directory, ignore_errors=True)

    def _set_finished(self, config: ExecConfig) -> None:
        # A health probe forgets its exec as soon as it has its answer (or timed out), maybe
        # before the monitor's exit record arrives here.
        event = self.finished.get(config.id)
        if event is not None:
            event.set()

    def forget(self, exec_id: str) -> None:
        """Drop an exec's records (a finished health probe: Docker keeps no trace of those)."""
        self.execs.pop(exec_id, None)
        self.finished.pop(exec_id, None)

    async def wait(self, config: ExecConfig) -> int:
        await self.finished[config.id].wait()
        return config.exit_code if config.exit_code is not None else -1

    async def resize(self, config: ExecConfig, height: int, width: int) -> None:
        if not config.running:
            raise Conflict(f"Exec {config.id} is not running")
        await monitors.call(self.directory(config.id), {"op": "resize", "h": height, "w": width})

    def forget_container(self, container_id: str) -> None:
        for exec_id in [e.id for e in self.execs.values() if e.container_id == container_id and not e.running]:
            self.execs.pop(exec_id, None)
            self.finished.pop(exec_id, None)
