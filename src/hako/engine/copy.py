"""`docker cp` for the engine: a container's filesystem (root, binds, volumes) ready to read and
write, for a running container and a stopped one alike, and nothing left mounted after.

    async with ContainerFiles(engine, container) as fs:       # a containers.archive.ContainerFS
        await asyncio.to_thread(fs.stat, fs.resolve_request("/etc/hosts"))

A stopped container's root is mounted for the operation and unmounted after, under the
container's lock, so that a start cannot begin (and find it mounted) in between. A running
container's root is the one mounted for it; volumes a driver mounts are acquired for the
operation either way.
"""

from __future__ import annotations

import asyncio
import os
import uuid

from ..containers.archive import ContainerFS, Mounted
from ..containers.model import Container
from ..errdefs import NotFound


class ContainerFiles:
    def __init__(self, engine, container: Container):
        self.engine = engine
        self.container = container
        self.user = f"cp-{uuid.uuid4().hex[:12]}"
        self.lock = None
        self.mounted_root = False
        self.acquired: list[str] = []

    async def __aenter__(self) -> ContainerFS:
        live = self.engine.containers._live(self.container.id)
        await live.lock.acquire()
        self.lock = live.lock
        if self.container.id not in self.engine.containers.containers:
            self.lock.release()
            raise NotFound(f"No such container: {self.container.id}")
        try:
            return await asyncio.to_thread(self._open)
        except BaseException:
            await asyncio.to_thread(self._close)
            self.lock.release()
            raise

    async def __aexit__(self, *exc) -> None:
        try:
            await asyncio.to_thread(self._close)
        finally:
            self.lock.release()

    def _open(self) -> ContainerFS:
        c = self.container
        layers = self.engine.layers
        merged = os.path.join(layers.rw_dir, c.id, "merged")
        from ..snapshots import mounting

        if not mounting.is_mount_point(merged):
            self.mounted_root = True
        root = layers.mount(c.id)
        mounts = []
        for p in c.mounts:
            if p.type == "volume":
                source = self.engine.volumes.acquire(p.name, self.user)
                self.acquired.append(p.name)
                mounts.append(Mounted(p.destination, source, p.rw))
            elif p.type == "bind":
                mounts.append(Mounted(p.destination, p.source, p.rw))
        for dest, path in (("/etc/hosts", c.hosts_path), ("/etc/hostname", c.hostname_path),
                           ("/etc/resolv.conf", c.resolv_conf_path)):
            if path and os.path.exists(path) and not any(m.destination == dest for m in mounts):
                mounts.append(Mounted(dest, path, True))
        return ContainerFS(root, mounts, readonly_root=c.host_config.readonly_rootfs)

    def _close(self) -> None:
        for name in self.acquired:
            self.engine.volumes.release(name, self.user)
        self.acquired = []
        if self.mounted_root and not self.container.state.running:
            self.engine.layers.unmount(self.container.id)
