"""Health checks: run the container's test command on its schedule and keep Docker's health status."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from ..containers.model import RUNNING, Container, ExecConfig
from . import monitors

NS = 1_000_000_000
DEFAULT_INTERVAL = 30 * NS
DEFAULT_TIMEOUT = 30 * NS
DEFAULT_RETRIES = 3
MAX_OUTPUT = 4096
KEEP = 5


async def run_health_checks(manager, container: Container) -> None:
    check = container.config.healthcheck
    interval = (check.interval or DEFAULT_INTERVAL) / NS
    timeout = (check.timeout or DEFAULT_TIMEOUT) / NS
    retries = check.retries or DEFAULT_RETRIES
    start_period = check.start_period / NS
    started = time.time()
    while True:
        await asyncio.sleep(interval)
        if container.state.status != RUNNING or container.state.health is None:
            continue
        code, output, begin, end = await _probe(manager, container, check.test, timeout)
        health = container.state.health
        health.log = (health.log + [{"Start": begin, "End": end, "ExitCode": code, "Output": output}])[-KEEP:]
        previous = health.status
        if code == 0:
            health.status, health.failing_streak = "healthy", 0
        elif time.time() - started >= start_period or previous != "starting":
            health.failing_streak += 1
            if health.failing_streak >= retries:
                health.status = "unhealthy"
        manager.store.save_container(container)
        if health.status != previous:
            manager._event(container, "health_status: " + health.status)


async def _probe(manager, container: Container, test: list[str], timeout: float) -> tuple[int, str, float, float]:
    """Run the test once as an exec; (exit code, output, start, end). A failure to run is exit 1,
    a timeout -1 (Docker's values); the probe's exec leaves no record behind."""
    if test[:1] == ["CMD-SHELL"]:
        cmd = ["/bin/sh", "-c", " ".join(test[1:])]
    elif test[:1] == ["CMD"]:
        cmd = test[1:]
    else:
        cmd = test
    execs = manager.engine.execs
    begin = time.time()
    config = execs.create(container, ExecConfig(id="", container_id=container.id, cmd=cmd,
                                                attach_stdout=True, attach_stderr=True))
    output = bytearray()
    directory = None
    started = False
    try:
        directory = await execs.prepare(config)
        reader, writer = await monitors.connect(directory, {"op": "attach", "stdout": True, "stderr": True})
        try:
            await execs.start(config, directory)
            started = True
            await asyncio.wait_for(_collect(reader, output), timeout)
            code = await asyncio.wait_for(execs.wait(config), timeout)
        except asyncio.TimeoutError:
            if config.running:
                _kill(config.pid)
            return -1, f"Health check exceeded timeout ({timeout:g}s)", begin, time.time()
        finally:
            writer.close()
    except Exception as exc:  # noqa: BLE001 - a failed probe is an unhealthy result
        return 1, str(exc), begin, time.time()
    finally:
        execs.forget(config.id)
        if directory is not None and not started:
            # Failed or cancelled (the container stopped) between prepare and start: the monitor
            # would wait for a start that never comes.
            manager._spawn(monitors.abort(directory, "health check cancelled"))
    return code, output[:MAX_OUTPUT].decode(errors="replace"), begin, time.time()


async def _collect(reader: asyncio.StreamReader, output: bytearray) -> None:
    """The probe's stdout and stderr (multiplexed frames), up to MAX_OUTPUT bytes."""
    try:
        while len(output) < MAX_OUTPUT:
            header = await reader.readexactly(8)
            size = int.from_bytes(header[4:], "big")
            output.extend(await reader.readexactly(size))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass


def _kill(pid: int) -> None:
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
