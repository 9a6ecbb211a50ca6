"""The volumes and binds of containers through their life: made at create, acquired (mounted when
the driver needs it, filled from the image when new) at start, released at exit, anonymous ones
removed with the container when asked (`rm -v`, `--rm`)."""

from __future__ import annotations

import logging
import os

from ..containers import mounts
from ..containers.model import Container
from ..errdefs import HakoError
from ..runtime import securejoin
from ..volumes.copyup import copy_up

log = logging.getLogger(__name__)


def create(engine, container: Container, image_volumes: dict | None) -> list[str]:
    """Plan the container's mount points and make the volumes they need; the names made."""
    container.mounts = mounts.plan(container, image_volumes, engine.containers.get)
    made = mounts.make_volumes(container.mounts, engine.volumes, container.host_config.mounts)
    for name in made:
        engine.events.emit("volume", "create", name, driver="local")
    return made


def users(engine, name: str) -> list[str]:
    """Ids of the containers (running or not) whose mounts name the volume ``name``."""
    return [c.id for c in engine.containers.containers.values()
            if any(p.type == "volume" and p.name == name for p in c.mounts)]


def running_users(engine) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for c in engine.containers.containers.values():
        if c.state.running:
            for p in c.mounts:
                if p.type == "volume":
                    found.setdefault(p.name, set()).add(c.id)
    return found


def acquire(engine, container: Container, rootfs: str) -> None:
    """Before the runtime runs: volumes mounted and filled, missing -v bind sources made."""
    if any(p.type == "bind" and p.propagation not in ("", "private", "rprivate") for p in container.mounts):
        with open("/proc/self/mountinfo") as f:
            mounts.check_propagation(container.mounts, f.read())
    acquired = []
    try:
        for p in container.mounts:
            if p.type == "volume":
                p.source = engine.volumes.acquire(p.name, container.id)
                acquired.append(p.name)
                if p.copy_data:
                    # Docker fills an empty volume from the image at its mount point.
                    copy_up(securejoin.secure_join(rootfs, p.destination), p.source)
            elif p.type == "bind" and not os.path.exists(p.source):
                os.makedirs(p.source, exist_ok=True)   # Docker creates a missing -v bind source
    except BaseException:
        for name in acquired:
            engine.volumes.release(name, container.id)
        raise


def announce_mounts(engine, container: Container) -> None:
    """Docker's `volume mount` events, one per volume, once the start has them (on the loop)."""
    for p in container.mounts:
        if p.type == "volume":
            engine.events.emit("volume", "mount", p.name, container=container.id, destination=p.destination,
                               driver=p.driver or "local", propagation=p.propagation, **{"read/write": str(p.rw).lower()})


def release(engine, container: Container) -> None:
    """After the container stopped (or failed to start): each volume released, with Docker's
    `volume unmount` event. Called on the event loop."""
    for p in container.mounts:
        if p.type == "volume":
            try:
                engine.volumes.release(p.name, container.id)
                engine.events.emit("volume", "unmount", p.name, container=container.id, driver=p.driver or "local")
            except Exception as exc:  # noqa: BLE001 - a warning: the container is stopped anyway
                log.warning("container %s: releasing volume %s: %s", container.id[:12], p.name, exc)


async def remove_anonymous(engine, container: Container) -> None:
    """`rm -v` and `--rm`: the anonymous volumes this container made, unless another uses them.
    Files go off the event loop; events are emitted on it."""
    import asyncio

    for p in container.mounts:
        if p.type == "volume" and p.anonymous:
            try:
                await asyncio.to_thread(engine.volumes.remove, p.name)
                engine.events.emit("volume", "destroy", p.name, driver="local")
            except HakoError as exc:
                log.info("container %s: keeping volume %s: %s", container.id[:12], p.name, exc)
