"""Live restore: what hakod does at start for the containers it finds in its store.

Running containers whose monitor still answers are watched again; exits that happened while hakod
was away are read from the monitors' exit records; a start cut short by hakod's death is aborted
or adopted; restart policies bring back what Docker would.
"""

from __future__ import annotations

import logging

from ..containers.model import PAUSED, REMOVING, RESTARTING, RUNNING, Container
from ..errdefs import HakoError
from ..monitor import protocol
from . import monitors, restart

log = logging.getLogger(__name__)


async def _recover_start(manager, container: Container) -> bool:
    """A start cut short by hakod's death: its monitor may still be waiting for `start` (told
    to give up now), or have started the process just before we died (adopted: True)."""
    directory = manager.monitor_dir(container.id)
    if not monitors.alive(directory):
        return False
    reply = await monitors.abort(directory, "hakod restarted before the start completed")
    if not reply or not reply.get("started"):
        return False
    log.info("container %s: adopting a process started just before hakod stopped", container.id[:12])
    manager._mark_running(container, reply["pid"])    # its watch reads the exit, if it has one
    return True

async def restore(manager) -> None:
    """Live restore: find the monitors of containers that were running, record exits that
    happened while hakod was away, then apply restart policies."""
    for container in manager.store.containers():
        manager.containers[container.id] = container
        live = manager._live(container.id)
        state = container.state
        if state.status in (RUNNING, PAUSED):
            directory = manager.monitor_dir(container.id)
            if monitors.alive(directory):
                live.watch_task = manager._spawn(manager._watch(container))
                if state.health is not None:
                    from .health import run_health_checks

                    live.health_task = manager._spawn(run_health_checks(manager, container))
                continue
            await manager._on_exit(container, protocol.read_exit(directory))
        elif state.status == REMOVING:
            manager.store.delete_container(container.id)
            del manager.containers[container.id]
            manager._remove_files(container.id)
        elif await _recover_start(manager, container):
            continue
        else:
            try:
                manager.engine.layers.unmount(container.id)    # mounted by a start that died with us
            except OSError as exc:
                log.warning("container %s: unmounting its root: %s", container.id[:12], exc)
            if state.status == RESTARTING:
                live.restart_task = manager._spawn(manager._restart_later(container))
    for container in list(manager.containers.values()):
        if restart.start_with_daemon(container):
            try:
                await manager.start(container)
            except HakoError as exc:
                log.warning("restarting %s at startup: %s", container.id[:12], exc)
