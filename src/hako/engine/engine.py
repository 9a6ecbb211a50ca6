"""The engine: hakod's core, wiring the stores, the zygote and the managers; knows nothing of HTTP.

Lifecycle:

    engine = Engine(config)
    await engine.start()      # lock the data root, open stores, start the zygote, live-restore
    …                         # the API calls engine.containers / engine.images / engine.execs
    await engine.shutdown()   # containers keep running (live restore picks them up again)
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import tempfile
import time

from ..errdefs import Conflict, InvalidArgument
from ..images.changes import apply_changes
from ..images.store import ImageStore
from .config import DaemonConfig
from .containers import ContainerManager
from .events import EventBus
from .execs import ExecManager
from .restore import restore
from .store import Store

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, config: DaemonConfig):
        self.config = config
        self.events = EventBus()
        self.shutting_down = False
        self.started_at = time.time()

    async def start(self) -> None:
        for path in (self.config.data_root, self.config.exec_root):
            os.makedirs(path, mode=0o711, exist_ok=True)
        self._check_paths()
        self._lock_data_root()
        for sub in ("containers", "tmp"):
            os.makedirs(os.path.join(self.config.data_root, sub), mode=0o710, exist_ok=True)
        for sub in ("containers", "runtime", "m"):
            os.makedirs(os.path.join(self.config.exec_root, sub), mode=0o711, exist_ok=True)
        shutil.rmtree(os.path.join(self.config.data_root, "tmp"), ignore_errors=True)
        os.makedirs(os.path.join(self.config.data_root, "tmp"), mode=0o700, exist_ok=True)
        from ..runtime.runtime import Runtime
        from ..snapshots import LayerStore
        from ..monitor.zygote import Zygote

        self.store = Store(os.path.join(self.config.data_root, "hako.db"))
        self.layers = LayerStore(os.path.join(self.config.data_root, "overlay"), delete_in_background=True)
        self.images = ImageStore(self.store, self.layers)
        from ..images.content import ContentStore
        from ..images.layerblobs import LayerBlobs
        from .distribution import Distribution

        self.content = ContentStore(os.path.join(self.config.data_root, "content"))
        self.layer_blobs = LayerBlobs(self.content, self.store)
        self.distribution = Distribution(self)
        self.runtime = Runtime(self.config.runtime_root)
        self.zygote = Zygote.start(os.path.join(self.config.exec_root, "zygote.log"))
        from ..volumes import VolumeService
        from . import container_volumes

        self.volumes = VolumeService(self.store, os.path.join(self.config.data_root, "volumes"),
                                     users=lambda name: container_volumes.users(self, name))
        from ..network.manager import NetworkManager

        self.networks = NetworkManager(self.store, self.config, self.events,
                                       container_name=lambda cid: self.containers.containers[cid].name
                                       if cid in self.containers.containers else cid[:12])
        await self.networks.start()
        self.containers = ContainerManager(self)
        self.execs = ExecManager(self)
        await restore(self.containers)
        # Live restore has found the containers that still run: their DNS servers and published
        # ports come back; whatever a crashed hakod left for the others goes.
        await self.networks.reopen([c for c in self.containers.containers.values() if c.state.status in ("running", "paused")])
        self.volumes.driver.restore(container_volumes.running_users(self))
        self._remove_orphans()

    def _check_paths(self) -> None:
        longest = os.path.join(self.config.exec_root, "m", "x" * 24, "monitor.sock")
        if len(longest) >= 108:
            raise RuntimeError(f"exec root {self.config.exec_root} is too long: monitor sockets under it "
                               "would not fit a unix socket address (108 bytes)")

    def _lock_data_root(self) -> None:
        """One daemon per data root: a second hakod fails here instead of corrupting the first."""
        path = os.path.join(self.config.data_root, "hakod.lock")
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise RuntimeError(f"another hakod is running on data root {self.config.data_root}") from None
        os.ftruncate(self._lock_fd, 0)
        os.write(self._lock_fd, f"{os.getpid()}\n".encode())

    def _remove_orphans(self) -> None:
        """Writable snapshots and directories whose container record never landed or is gone."""
        known = set(self.containers.containers)
        for key in self.layers.rw_keys():
            if key not in known:
                log.info("removing the orphan snapshot %s", key[:12])
                self.layers.remove_rw(key)
        for parent in (os.path.join(self.config.data_root, "containers"), os.path.join(self.config.exec_root, "containers")):
            for name in os.listdir(parent):
                if name not in known:
                    shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        # Monitor directories (m/<id prefix>, m/x<exec id prefix>) whose monitor has ended while
        # no hakod was there to clean up after it; a live one (an exec still running) stays.
        from . import monitors

        prefixes = {cid[:24] for cid in known}
        top = os.path.join(self.config.exec_root, "m")
        for name in os.listdir(top):
            path = os.path.join(top, name)
            if name not in prefixes and not monitors.alive(path):
                shutil.rmtree(path, ignore_errors=True)

    async def shutdown(self) -> None:
        self.shutting_down = True
        for task in list(self.containers.tasks):
            task.cancel()
        self.zygote.stop()
        await self.networks.shutdown()
        self.store.close()
        os.close(self._lock_fd)

    # images
    async def import_image(self, source, repo_tag: str | None, changes: list[str], message: str):
        """`docker import`: a root filesystem tar (a file object or path) becomes a one-layer image."""
        if repo_tag:
            from ..images import reference

            reference.parse(repo_tag)
        layer = await asyncio.to_thread(self._apply_tar, source)
        run_config = apply_changes({}, changes)
        config = self.images.new_config([layer.diff_id], run_config,
                                        comment=message or "Imported from -")
        image = self.images.add(config, layer.chain_id, repo_tag)
        self.events.emit("image", "import", image.id)
        if repo_tag:
            self.events.emit("image", "tag", image.id, name=self.images.images[image.id].repo_tags[-1])
        return image

    def _apply_tar(self, source):
        return self.add_layer(source if isinstance(source, str) else source.name, None)

    def snapshot_layer(self, container_id: str):
        """A container's changes as a new read-only layer on its image's (commit, build).
        Blocking: call it in a thread."""
        from .commit import snapshot_layer

        return snapshot_layer(self, container_id)

    def add_layer(self, tar_path: str, parent: str | None):
        """A layer tar (uncompressed, a file) on top of the layer ``parent`` (a chain id) becomes a
        read-only layer; the one way import, commit and build make layers. Blocking: call it in a
        thread."""
        with open(tar_path, "rb") as f:
            layer = self.layers.apply_tar(f, parent)
        self.layer_blobs.keep_uncompressed(tar_path, layer.diff_id)
        return layer

    def spool_dir(self) -> str:
        return os.path.join(self.config.data_root, "tmp")

    def tempfile(self):
        return tempfile.NamedTemporaryFile(dir=self.spool_dir(), prefix="upload-")

    def image_users(self) -> dict[str, list[tuple[str, bool]]]:
        users: dict[str, list[tuple[str, bool]]] = {}
        for c in self.containers.containers.values():
            users.setdefault(c.image_id, []).append((c.id, c.state.running))
        return users

    def remove_image(self, name: str, force: bool) -> list[dict]:
        image_id = self.images.get(name).id
        result = self.images.remove(name, force, self.image_users())
        self.collect_layers()
        for entry in result:
            if "Untagged" in entry:
                # As dockerd: the untag event's actor is the image, by id
                self.events.emit("image", "untag", image_id, name=image_id)
            else:
                self.events.emit("image", "delete", entry["Deleted"], name=entry["Deleted"])
        return result

    def collect_layers(self) -> list[str]:
        """Remove layers no image and no container's snapshot stands on."""
        keep = set()
        for container in self.containers.containers.values():
            try:
                parent = self.layers.parent(container.id)
            except Exception:  # noqa: BLE001 - a container without a snapshot keeps nothing
                continue
            if parent:
                keep.add(parent)
        from ..build.cache import BuildCache

        keep |= BuildCache(self.store).layers()      # what the build cache's steps stand on
        keep |= set(self.distribution.stores.layer_leases)   # what pulls in flight have unpacked
        removed = self.images.collect_layers(keep)
        live = set()
        for image in self.images.images.values():
            live.update(image.config.get("rootfs", {}).get("diff_ids") or [])
        self.layer_blobs.collect(live)
        return removed

    def changes(self, container_id: str) -> list[tuple[str, int]]:
        """`docker diff`, without the mount points hakod itself made for /etc/hosts, /etc/hostname
        and /etc/resolv.conf (Docker keeps those in an init layer the diff never shows)."""
        from ..snapshots import ADDED, MODIFIED
        from .commit import init_stubs

        stubs = {"/" + rel for rel in init_stubs(self.layers, container_id, self.layers.parent(container_id))}
        kept = [(path, kind) for path, kind in self.layers.changes(container_id)
                if not (path in stubs and kind == ADDED)]
        others_under_etc = any(p.startswith("/etc/") for p, _ in kept)
        if not others_under_etc:
            kept = [(p, k) for p, k in kept if not (p == "/etc" and k == MODIFIED)]
        return kept

    def tag_image(self, name: str, repo: str, tag: str | None) -> str:
        image = self.images.get(name)
        if not repo:
            raise InvalidArgument("repository name must have at least one component")
        target = f"{repo}:{tag}" if tag else repo
        result = self.images.tag(image, target)
        self.events.emit("image", "tag", image.id, name=result)
        return result

    def prune_images(self, dangling_only: bool, label_filters: list) -> tuple[list[dict], int]:
        used = {c.image_id for c in self.containers.containers.values()}
        deleted: list[dict] = []
        reclaimed = 0
        for image in list(self.images.images.values()):
            if image.id in used or (dangling_only and image.repo_tags):
                continue
            if not all(f(image.run_config.get("Labels") or {}) for f in label_filters):
                continue
            for tag in list(image.repo_tags):
                self.images._untag(image, tag)
                deleted.append({"Untagged": tag})
            self.store.delete_image(image.id)
            del self.images.images[image.id]
            deleted.append({"Deleted": image.id})
            reclaimed += image.size
            self.events.emit("image", "delete", image.id)
        for chain in self.collect_layers():
            deleted.append({"Deleted": chain})
        return deleted, reclaimed

    async def prune_containers(self, predicate) -> tuple[list[str], int]:
        deleted, reclaimed = [], 0
        for container in list(self.containers.containers.values()):
            if container.state.running or not predicate(container):
                continue
            size = self.layers.disk_usage(container.id)
            try:
                await self.containers.remove(container, force=False)
            except Conflict:
                continue
            deleted.append(container.id)
            reclaimed += size
        return deleted, reclaimed
