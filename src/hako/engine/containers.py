"""Containers through their whole life: create, start, stop, kill, wait, remove, restart policies.

Each operation is refresh, check, act, save, under the container's lock. A start mounts the
container's overlay root, writes its OCI config, and asks the zygote for a monitor; the monitor
creates the container and starts it at once, or, when streams wait to attach, reports and waits for
hakod to connect them before it is told to start. A watch task per running container waits for the
monitor's exit record. Restart decisions are in restart.py, startup recovery in restore.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import sqlite3
import time
import uuid

from ..containers import ocispec
from ..containers.imageconfig import merge_image_config
from ..containers.model import CREATED, EXITED, PAUSED, REMOVING, RESTARTING, RUNNING, Container
from ..errdefs import Conflict, HakoError, InvalidArgument, NotFound, SystemError
from . import container_volumes, etcfiles, monitors, names, restart
from .monitors import MonitorError
from .signals import signal_number

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10
ATTACH_CONNECT_TIMEOUT = 5.0


class NotModified(HakoError):
    """Docker answers 304 to starting a running container or stopping a stopped one."""
    status = 304


class Live:
    """What hakod knows of a container beyond its record: lock, waiters, tasks."""

    def __init__(self):
        self.lock = asyncio.Lock()
        self.exit_waiters: list[asyncio.Future] = []
        self.removed: asyncio.Future | None = None
        self.attach_waiters: list[tuple[asyncio.Future, asyncio.Future]] = []
        self.watch_task: asyncio.Task | None = None
        self.restart_task: asyncio.Task | None = None
        self.health_task: asyncio.Task | None = None
        self.exited = asyncio.Event()


class ContainerManager:
    def __init__(self, engine):
        self.engine = engine
        self.config = engine.config
        self.store = engine.store
        self.events = engine.events
        self.containers: dict[str, Container] = {}
        self.live: dict[str, Live] = {}
        self.tasks: set[asyncio.Task] = set()

    # paths
    def data_dir(self, cid: str) -> str:
        return os.path.join(self.config.data_root, "containers", cid)

    def run_dir(self, cid: str) -> str:
        return os.path.join(self.config.exec_root, "containers", cid)

    def monitor_dir(self, cid: str) -> str:
        # Short, because a unix socket's path must fit in 108 bytes (unix(7)); 96 random bits
        # of the id are as unique as the whole.
        return os.path.join(self.config.exec_root, "m", cid[:24])

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # lookup
    def get(self, ref: str) -> Container:
        container = self.find(ref)
        if container is None:
            raise NotFound(f"No such container: {ref}")
        return container

    def find(self, ref: str) -> Container | None:
        if not ref:
            return None
        if ref in self.containers:
            return self.containers[ref]
        name = ref.lstrip("/")
        for container in self.containers.values():
            if container.name == name:
                return container
        matches = [c for c in self.containers.values() if c.id.startswith(ref)]
        if len(matches) > 1:
            raise InvalidArgument(f"multiple IDs found with provided prefix: {ref}")
        return matches[0] if matches else None

    def list(self) -> list[Container]:
        return sorted(self.containers.values(), key=lambda c: c.created, reverse=True)

    def _live(self, cid: str) -> Live:
        if cid not in self.live:
            self.live[cid] = Live()
        return self.live[cid]

    # create
    def create(self, name: str | None, container: Container) -> tuple[Container, list[str]]:
        """Make the record, its directories and its writable snapshot; nothing runs yet."""
        taken = {c.name for c in self.containers.values()}
        if name:
            name = names.check(name)
            if name in taken:
                other = next(c for c in self.containers.values() if c.name == name)
                raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                               f'"{other.id}". You have to remove (or rename) that container to be able to reuse that name.')
        else:
            name = names.random_name(taken)
        warnings = ocispec.check_host_config(container)
        image = self.engine.images.get(container.image_id)
        container.id = uuid.uuid4().hex + uuid.uuid4().hex
        container.name = name
        endpoints = self.engine.networks.plan_endpoints(container, container.networking)
        container.networking = {}
        container.image_id = image.id
        run_config = image.run_config
        merge_image_config(container, run_config)
        container.path, *container.args = ocispec.command(container, run_config) or [""]
        if not container.path:
            raise InvalidArgument("No command specified")
        container.log_path = os.path.join(self.data_dir(container.id), f"{container.id}-json.log")
        if not container.host_config.log_opts:
            container.host_config.log_opts = dict(self.config.log_opts)
        self._log_options(container)
        if container.config.healthcheck is None and run_config.get("Healthcheck"):
            from ..containers.model import Healthcheck

            hc = run_config["Healthcheck"]
            container.config.healthcheck = Healthcheck(test=hc.get("Test") or [], interval=hc.get("Interval", 0),
                                                       timeout=hc.get("Timeout", 0), start_period=hc.get("StartPeriod", 0),
                                                       retries=hc.get("Retries", 0))
        if not container.config.stop_signal:
            container.config.stop_signal = run_config.get("StopSignal") or ""
        made_volumes = container_volumes.create(self.engine, container, run_config.get("Volumes"))
        try:
            os.makedirs(self.data_dir(container.id), mode=0o710)
            self.engine.layers.prepare(container.id, image.top)
            self.store.insert_container(container)
        except sqlite3.IntegrityError:
            self._remove_files(container.id)
            self._remove_volumes(made_volumes)
            raise Conflict(f'Conflict. The container name "/{name}" is already in use. '
                           'You have to remove (or rename) that container to be able to reuse that name.') from None
        except BaseException:
            self._remove_files(container.id)
            self._remove_volumes(made_volumes)
            raise
        self.containers[container.id] = container
        self.engine.networks.add_endpoints(endpoints)
        self._live(container.id)
        self._event(container, "create")
        return container, warnings

    def _remove_volumes(self, names: list[str]) -> None:
        for name in names:
            try:
                self.engine.volumes.remove(name, force=True)
            except HakoError as exc:
                log.warning("removing volume %s after a failed create: %s", name, exc)

    def _log_options(self, container: Container) -> tuple[int | None, int]:
        from ..containers.logs import parse_log_opts

        try:
            return parse_log_opts(container.host_config.log_opts)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None

    def _event(self, container: Container, action: str, **extra: str) -> None:
        image = self.engine.images.images.get(container.image_id)
        image_name = container.config.image or (image.repo_tags[0] if image and image.repo_tags else container.image_id)
        self.events.emit("container", action, container.id, image=image_name, name=container.name,
                         **container.config.labels, **extra)

    # start
    async def start(self, container: Container) -> None:
        live = self._live(container.id)
        async with live.lock:
            if container.state.status in (RUNNING, PAUSED):
                raise NotModified("container already started")
            if container.state.status == REMOVING:
                raise Conflict(f"container {container.id[:12]} is marked for removal and cannot be started")
            try:
                await self._start_locked(container)
                return
            except HakoError as exc:
                if not container.host_config.auto_remove:
                    raise
                error = exc
        # As Docker: a --rm container that could not start is removed, so `wait?condition=removed` ends.
        await self.remove(container, force=True)
        raise error


    async def _start_locked(self, container: Container) -> None:
        live = self._live(container.id)
        layers = self.engine.layers
        monitor_dir = self.monitor_dir(container.id)
        rootfs = layers.mount(container.id)
        started = False
        try:
            if container.mounts:
                await asyncio.to_thread(container_volumes.acquire, self.engine, container, rootfs)
                container_volumes.announce_mounts(self.engine, container)
            attached = await self.engine.networks.attach(container)
            spec = self._oci_spec(container, rootfs, attached)
            bundle = os.path.join(self.run_dir(container.id), "bundle")
            os.makedirs(bundle, exist_ok=True)
            shutil.rmtree(monitor_dir, ignore_errors=True)
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(spec, f)
            max_size, max_file = self._log_options(container)
            hc = container.host_config
            status_fd = self.engine.zygote.spawn({
                "mode": "container", "id": container.id, "dir": monitor_dir,
                "runtime_root": self.config.runtime_root, "bundle": bundle,
                "tty": container.config.tty, "stdin": container.config.open_stdin,
                "stdin_once": container.config.stdin_once, "console_size": list(hc.console_size),
                "log": None if hc.log_type == "none" else {"path": container.log_path, "max_size": max_size, "max_file": max_file},
                "autostart": not live.attach_waiters,
            })
            reply = await monitors.read_status(status_fd)
            if "pid" not in reply:
                # Streams attached before the start are connected before the process runs.
                await self._connect_attachers(live, monitor_dir)
                reply = await monitors.call(monitor_dir, {"op": "start"})
            started = True
        except (MonitorError, OSError) as exc:
            raise self._start_failed(container, str(exc)) from None
        finally:
            if not started:
                # Whatever stopped us (a refusal, a lost connection, a cancelled request), a
                # monitor that created the container must not wait for a start that won't come.
                self._spawn(self._discard_monitor(container.id, monitor_dir))
                self._fail_attachers(live)
                await self._detach_network(container)
                container_volumes.release(self.engine, container)
                try:
                    layers.unmount(container.id)
                except OSError as exc:
                    log.warning("container %s: unmounting its root: %s", container.id[:12], exc)
        self._mark_running(container, reply["pid"])

    def _mark_running(self, container: Container, pid: int) -> None:
        """Record a process that runs now, and start watching it (and its health)."""
        live = self._live(container.id)
        live.exited.clear()
        state = container.state
        state.status, state.pid, state.exit_code, state.error = RUNNING, pid, 0, ""
        state.oom_killed, state.started_at = False, time.time()
        state.manually_stopped = False
        if container.config.healthcheck and container.config.healthcheck.test[:1] not in (["NONE"], []):
            from ..containers.model import Health

            state.health = Health()
        self.store.save_container(container)
        self._event(container, "start")
        live.watch_task = self._spawn(self._watch(container))
        if state.health is not None:
            from .health import run_health_checks

            live.health_task = self._spawn(run_health_checks(self, container))

    async def _discard_monitor(self, cid: str, monitor_dir: str) -> None:
        """After a start that failed or was cancelled: abort the monitor; if the process got
        started all the same (the cancel landed after the start request went out), kill it,
        since hakod's record says it is not running."""
        reply = await monitors.abort(monitor_dir, "start failed")
        if reply and reply.get("started") and not reply.get("exit"):
            log.warning("container %s: killing a process started by a cancelled start", cid[:12])
            try:
                self.engine.runtime.kill(cid, signal.SIGKILL)
            except Exception as exc:  # noqa: BLE001 - it may be gone already
                log.debug("kill %s: %s", cid[:12], exc)

    def _start_failed(self, container: Container, message: str) -> HakoError:
        """Record a start the runtime refused, as Docker does (exit code 127 for a missing binary)."""
        full = f"failed to create task for container: OCI runtime create failed: {message}: unknown"
        lowered = message.lower()
        code = 127 if ("not found" in lowered or "no such file" in lowered) else (126 if "permission denied" in lowered else 128)
        state = container.state
        state.status, state.exit_code, state.error, state.pid = (CREATED if state.started_at == 0 else EXITED), code, full, 0
        self.store.save_container(container)
        error = InvalidArgument(full) if code in (126, 127) else SystemError(full)
        return error

    async def _detach_network(self, container: Container) -> None:
        try:
            await self.engine.networks.detach(container)
        except Exception as exc:  # noqa: BLE001 - a warning: the exit or the failure is what counts
            log.warning("container %s: removing its network: %s", container.id[:12], exc)

    def _oci_spec(self, container: Container, rootfs: str, attached) -> dict:
        image = self.engine.images.images.get(container.image_id)
        run_config = image.run_config if image else {}
        hc = container.host_config
        netns = attached.netns_path
        if hc.network_mode.startswith("container:"):
            other = self.get(hc.network_mode.split(":", 1)[1])
            if other.state.status not in (RUNNING, PAUSED):
                raise Conflict(f"cannot join network of a non running container: {other.id}")
            netns = self.engine.networks.netns_path_of(other.id) or f"/proc/{other.state.pid}/ns/net"
        hostname = ocispec.hostname_for(container)
        files = etcfiles.write(self.data_dir(container.id), hostname, hc.network_mode == "host",
                               attached.addresses, hc.extra_hosts, hc.dns, hc.dns_search, hc.dns_options,
                               attached.embedded_dns)
        container.hostname_path, container.hosts_path = files["/etc/hostname"], files["/etc/hosts"]
        container.resolv_conf_path = files["/etc/resolv.conf"]
        return ocispec.build_spec(container, run_config, rootfs, self.config.cgroup_parent, netns, files)

    # attach plumbing: streams attached before start are connected before the process runs
    async def monitor_for_attach(self, container: Container) -> tuple[str, asyncio.Future | None]:
        """The monitor's directory once the container runs, waiting for the next start if needed.

        When waiting, the second item is a future the caller resolves once it has connected, so
        the start goes on only when the stream is there to take the first output."""
        if container.state.status in (RUNNING, PAUSED):
            return self.monitor_dir(container.id), None
        live = self._live(container.id)
        loop = asyncio.get_running_loop()
        ready, attached = loop.create_future(), loop.create_future()
        live.attach_waiters.append((ready, attached))
        try:
            directory = await ready
        except BaseException:
            if not attached.done():
                attached.set_result(None)
            raise
        return directory, attached

    async def _connect_attachers(self, live: Live, monitor_dir: str) -> None:
        waiters, live.attach_waiters = live.attach_waiters, []
        pending = []
        for ready, attached in waiters:
            if not ready.done():
                ready.set_result(monitor_dir)
                pending.append(attached)
        if pending:
            await asyncio.wait(pending, timeout=ATTACH_CONNECT_TIMEOUT)

    def _fail_attachers(self, live: Live) -> None:
        waiters, live.attach_waiters = live.attach_waiters, []
        for ready, _attached in waiters:
            if not ready.done():
                ready.set_exception(Conflict("container failed to start"))

    # exit
    async def _watch(self, container: Container) -> None:
        record = await monitors.watch(self.monitor_dir(container.id))
        await self._on_exit(container, record)

    async def _on_exit(self, container: Container, record: dict | None) -> None:
        live = self._live(container.id)
        async with live.lock:
            if container.id not in self.containers:
                return
            state = container.state
            if record is None:
                # The monitor died without recording an exit (killed by hand, OOM-killed): the
                # container may still run, orphaned. Delete it through the runtime, as containerd
                # does when a shim is lost, so that the record and the host agree.
                record = {"code": 255, "finished": time.time(), "oom": False, "error": "the container's monitor disappeared"}
                await asyncio.to_thread(self._delete_orphan, container.id)
            state.status = EXITED
            state.exit_code = record["code"]
            state.finished_at = record["finished"]
            state.oom_killed = bool(record.get("oom"))
            state.error = record.get("error") or ""
            state.pid = 0
            if state.health is not None:
                state.health.status = "unhealthy" if state.health.status != "healthy" else state.health.status
            if live.health_task:
                live.health_task.cancel()
                live.health_task = None
            try:
                self.engine.layers.unmount(container.id)
            except OSError as exc:
                log.warning("container %s: unmounting its root: %s", container.id[:12], exc)
            container_volumes.release(self.engine, container)
            await self._detach_network(container)
            will_restart = self._should_restart(container)
            if will_restart:
                state.status = RESTARTING
            self.store.save_container(container)
            if state.oom_killed:
                self._event(container, "oom")
            self._event(container, "die", exitCode=str(state.exit_code))
            live.exited.set()
            waiters, live.exit_waiters = live.exit_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(state.exit_code)
        if container.host_config.auto_remove and not will_restart:
            try:
                await self.remove(container, force=True)
            except HakoError as exc:
                log.warning("auto-removing %s: %s", container.id[:12], exc)
        elif will_restart:
            live.restart_task = self._spawn(self._restart_later(container))

    def _delete_orphan(self, cid: str) -> None:
        try:
            self.engine.runtime.delete(cid, force=True)
            log.warning("container %s: its monitor was gone; the container was deleted", cid[:12])
        except Exception as exc:  # noqa: BLE001 - nothing left to delete is the usual case
            log.debug("deleting orphan %s: %s", cid[:12], exc)

    def _should_restart(self, container: Container) -> bool:
        return not self.engine.shutting_down and restart.should_restart(container)

    async def _restart_later(self, container: Container) -> None:
        await asyncio.sleep(restart.backoff(container.state))
        live = self._live(container.id)
        async with live.lock:
            if container.id not in self.containers or container.state.status != RESTARTING:
                return
            container.state.restart_count += 1
            try:
                await self._start_locked(container)
                self._event(container, "restart")
            except HakoError as exc:
                log.warning("restarting %s: %s", container.id[:12], exc)
                container.state.status = EXITED
                self.store.save_container(container)

    # stop, kill, restart
    async def stop(self, container: Container, timeout: int | None, sig: str | None = None) -> None:
        """Docker's stop: the stop signal, then SIGKILL once ``timeout`` seconds have passed.

        The signal is sent under the container's lock (a start in progress finishes first);
        the wait is outside it, because the exit is recorded under the same lock."""
        live = self._live(container.id)
        stop_signal = signal_number(sig or container.config.stop_signal or "SIGTERM")
        async with live.lock:
            state = container.state
            if state.status == RESTARTING:
                self._cancel_restart(container, live)
                return
            if state.status not in (RUNNING, PAUSED):
                raise NotModified("container already stopped")
            state.manually_stopped = True
            self.store.save_container(container)
            if timeout is None:
                timeout = container.config.stop_timeout if container.config.stop_timeout is not None else STOP_TIMEOUT
            if state.status == PAUSED:
                self._unpause_locked(container)
            self._kill_quietly(container, stop_signal)
        if timeout < 0:
            await live.exited.wait()            # Docker: a negative timeout waits for ever
        elif not await self._wait_exit(live, timeout):
            self._kill_quietly(container, signal.SIGKILL)
            await self._wait_exit(live, 30)
        self._event(container, "stop")

    def _cancel_restart(self, container: Container, live: Live) -> None:
        """Stop a restart policy's pending restart (the container is between two runs)."""
        container.state.manually_stopped = True
        container.state.status = EXITED
        self.store.save_container(container)
        if live.restart_task:
            live.restart_task.cancel()
            live.restart_task = None

    async def _wait_exit(self, live: Live, timeout: float) -> bool:
        if live.exited.is_set():
            return True
        try:
            await asyncio.wait_for(live.exited.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def _kill_quietly(self, container: Container, sig: int) -> None:
        try:
            self.engine.runtime.kill(container.id, sig)
        except Exception as exc:  # noqa: BLE001 - it may have exited meanwhile
            log.debug("kill %s: %s", container.id[:12], exc)

    async def kill(self, container: Container, sig: str | None) -> None:
        number = signal_number(sig or "SIGKILL")
        async with self._live(container.id).lock:
            if container.state.status not in (RUNNING, PAUSED):
                raise Conflict(f"Cannot kill container: {container.id}: Container {container.id} is not running")
            # Docker: SIGKILL or the stop signal means "stop it", which restart policies respect.
            if number == signal.SIGKILL or number == signal_number(container.config.stop_signal or "SIGTERM"):
                container.state.manually_stopped = True
                self.store.save_container(container)
            try:
                self.engine.runtime.kill(container.id, number)
            except Exception as exc:  # noqa: BLE001
                raise Conflict(f"Cannot kill container: {container.id}: {exc}") from None
        self._event(container, "kill", signal=str(number))

    async def restart(self, container: Container, timeout: int | None, sig: str | None = None) -> None:
        try:
            await self.stop(container, timeout, sig)
        except NotModified:
            pass
        async with self._live(container.id).lock:
            if container.id not in self.containers:
                raise NotFound(f"No such container: {container.id}")
            if container.state.status == REMOVING:
                raise Conflict(f"container {container.id[:12]} is marked for removal and cannot be started")
            if container.state.status not in (RUNNING, PAUSED):
                await self._start_locked(container)
        self._event(container, "restart")

    # pause
    async def pause(self, container: Container) -> None:
        async with self._live(container.id).lock:
            if container.state.status == PAUSED:
                raise Conflict(f"Container {container.id} is already paused")
            if container.state.status != RUNNING:
                raise Conflict(f"Container {container.id} is not running")
            self.engine.runtime.pause(container.id)
            container.state.status = PAUSED
            self.store.save_container(container)
        self._event(container, "pause")

    async def unpause(self, container: Container) -> None:
        async with self._live(container.id).lock:
            if container.state.status != PAUSED:
                raise Conflict(f"Container {container.id} is not paused")
            self._unpause_locked(container)

    def _unpause_locked(self, container: Container) -> None:
        self.engine.runtime.resume(container.id)
        container.state.status = RUNNING
        self.store.save_container(container)
        self._event(container, "unpause")

    # wait
    async def wait(self, container: Container, condition: str) -> int:
        live = self._live(container.id)
        if condition == "not-running" and container.state.status not in (RUNNING, PAUSED, RESTARTING):
            return container.state.exit_code
        loop = asyncio.get_running_loop()
        if condition == "removed":
            if live.removed is None:
                live.removed = loop.create_future()
            await asyncio.shield(live.removed)
            return container.state.exit_code
        waiter = loop.create_future()
        live.exit_waiters.append(waiter)
        try:
            return await waiter
        finally:
            if waiter in live.exit_waiters:
                live.exit_waiters.remove(waiter)

    # remove
    async def remove(self, container: Container, force: bool, remove_volumes: bool = False) -> None:
        """Delete the container; with ``force`` a running one is killed first; with
        ``remove_volumes`` (and always for --rm, as Docker) its anonymous volumes too.

        The check and the removal happen under the container's lock, so a start in progress
        either finishes first (and the container is then running: refused, or killed) or
        never begins. Killing waits outside the lock, where the exit gets recorded."""
        live = self._live(container.id)
        deadline = time.monotonic() + 60
        while True:
            async with live.lock:
                if container.id not in self.containers:
                    return
                state = container.state
                if state.status == REMOVING:
                    raise Conflict(f"removal of container {container.id[:12]} is already in progress")
                if state.status in (RUNNING, PAUSED, RESTARTING) and not force:
                    word = {PAUSED: "paused", RESTARTING: "restarting"}.get(state.status, "running")
                    raise Conflict(f"You cannot remove a {word} container {container.id}. "
                                   "Stop the container before attempting removal or force remove")
                if state.status == RESTARTING:
                    self._cancel_restart(container, live)
                if state.status in (RUNNING, PAUSED):
                    state.manually_stopped = True
                    if state.status == PAUSED:
                        try:
                            self.engine.runtime.resume(container.id)
                        except Exception:  # noqa: BLE001 - the kill below thaws it anyway
                            pass
                    self._kill_quietly(container, signal.SIGKILL)
                else:
                    state.status = REMOVING
                    self.store.delete_container(container.id)      # metadata first, then files
                    del self.containers[container.id]
                    self.engine.networks.remove_endpoints(container.id)
                    break
            if not await self._wait_exit(live, max(0.0, deadline - time.monotonic())):
                raise SystemError(f"could not kill container {container.id} to remove it")
        # Its anonymous volumes go first, as Docker's cleanup does: `docker run --rm` followed by
        # `docker volume ls` must not see them.
        if remove_volumes or container.host_config.auto_remove:
            await container_volumes.remove_anonymous(self.engine, container)
        # The record is gone, so the container is: tell the waiters (`run --rm` waits for this)
        # before the files go, which happens off the event loop.
        self._event(container, "destroy")
        if live.removed is not None and not live.removed.done():
            live.removed.set_result(None)
        for waiter in live.exit_waiters:
            if not waiter.done():
                waiter.set_result(container.state.exit_code)
        self.live.pop(container.id, None)
        await asyncio.to_thread(self._remove_all_files, container.id)

    def _remove_all_files(self, cid: str) -> None:
        self._remove_files(cid)
        shutil.rmtree(self.monitor_dir(cid), ignore_errors=True)

    def _remove_files(self, cid: str) -> None:
        try:
            self.engine.layers.remove_rw(cid)
        except Exception as exc:  # noqa: BLE001 - a warning, the record is gone already
            log.warning("container %s: removing its snapshot: %s", cid[:12], exc)
        shutil.rmtree(self.data_dir(cid), ignore_errors=True)
        shutil.rmtree(self.run_dir(cid), ignore_errors=True)

    # rename, update
    def rename(self, container: Container, new_name: str) -> None:
        new_name = names.check(new_name)
        if new_name == container.name:
            raise Conflict("Renaming a container with the same name as its current name")
        if any(c.name == new_name for c in self.containers.values()):
            other = next(c for c in self.containers.values() if c.name == new_name)
            raise Conflict(f'Conflict. The container name "/{new_name}" is already in use by container "{other.id}". '
                           "You have to remove (or rename) that container to be able to reuse that name.")
        old = container.name
        container.name = new_name
        self.store.save_container(container)
        self._event(container, "rename", oldName="/" + old)

    def update(self, container: Container, changes: dict) -> list[str]:
        """``changes``: HostConfig field names (snake_case) → new values."""
        hc = container.host_config
        saved = {k: getattr(hc, k) for k in changes}
        for key, value in changes.items():
            setattr(hc, key, value)
        try:
            ocispec.check_host_config(container)
        except HakoError:
            for key, value in saved.items():
                setattr(hc, key, value)
            raise
        if container.state.status in (RUNNING, PAUSED):
            resources = ocispec._resources(container)
            resources.pop("devices", None)
            try:
                self.engine.runtime.update(container.id, resources)
            except Exception as exc:  # noqa: BLE001
                for key, value in saved.items():
                    setattr(hc, key, value)
                raise InvalidArgument(f"Cannot update container {container.id}: {exc}") from None
        self.store.save_container(container)
        self._event(container, "update")
        return []
