"""Volumes through their life: create, inspect, list, remove, prune; records in hakod's SQLite.

    volumes = VolumeService(store, "/var/lib/hako/volumes", users=lambda name: [container ids])
    vol = volumes.create("vol1", labels={}, options={})     # or name=None: a random 64-hex name
    volumes.get("vol1"); volumes.list()
    volumes.remove("vol1")          # Conflict while a container (running or not) refers to it

Who uses a volume is asked of the container records (``users``), so nothing can drift out of
step with them. Files appear before the record and go after it (DESIGN decision 4); a start-up
sweep removes directories without a record.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from typing import Callable

from ..errdefs import Conflict, InvalidArgument, NotFound
from .local import LocalDriver
from .model import ANONYMOUS_LABEL, LOCAL, NAME, Volume

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL              -- the Volume as JSON
);
"""


class VolumeService:
    def __init__(self, store, root: str, users: Callable[[str], list[str]]):
        self.store = store
        self.driver = LocalDriver(root)
        self.users = users
        self._lock = threading.RLock()
        store.db.executescript(SCHEMA)
        self.volumes: dict[str, Volume] = {}
        for (data,) in store.db.execute("SELECT data FROM volumes").fetchall():
            volume = Volume(**json.loads(data))
            self.volumes[volume.name] = volume
            self.driver.load(volume.name, volume.options)
        self._sweep()

    def _sweep(self) -> None:
        for name in os.listdir(self.driver.root):
            if name not in self.volumes:
                log.info("removing the volume directory %s, which has no record", name)
                path = os.path.join(self.driver.root, name)
                from ..snapshots import mounting

                mounting.unmount_all_under(path)
                shutil.rmtree(path, ignore_errors=True)

    # create, look up
    def create(self, name: str | None, driver: str = "", labels: dict[str, str] | None = None,
               options: dict[str, str] | None = None, anonymous: bool = False) -> Volume:
        """A new volume, or the existing one of that name (Docker's create is idempotent)."""
        driver = driver or LOCAL
        if driver != LOCAL:
            raise NotFound(f"error looking up volume plugin {driver}: plugin \"{driver}\" not found")
        labels = dict(labels or {})
        if anonymous:
            labels[ANONYMOUS_LABEL] = ""
        if not name:
            name = uuid.uuid4().hex + uuid.uuid4().hex
        check_name(name)
        with self._lock:
            existing = self.volumes.get(name)
            if existing is not None:
                return existing
            mountpoint = self.driver.create(name, dict(options or {}))
            volume = Volume(name=name, mountpoint=mountpoint, created=time.time(), driver=driver,
                            labels=labels, options=dict(options or {}))
            try:
                with self.store.transaction() as db:
                    db.execute("INSERT INTO volumes (name, data) VALUES (?, ?)",
                               (name, json.dumps(volume.__dict__)))
            except BaseException:
                self.driver.remove(name)
                raise
            self.volumes[name] = volume
        log.info("volume %s created", name)
        return volume

    def get(self, name: str) -> Volume:
        volume = self.volumes.get(name)
        if volume is None:
            raise NotFound(f"get {name}: no such volume")
        return volume

    def list(self) -> list[Volume]:
        return sorted(self.volumes.values(), key=lambda v: v.name)

    # remove
    def remove(self, name: str, force: bool = False) -> None:
        """Docker's `volume rm`: refused while a container refers to it; ``force`` only makes a
        missing volume no error."""
        with self._lock:
            volume = self.volumes.get(name)
            if volume is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume")
            users = self.users(name)
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            with self.store.transaction() as db:
                db.execute("DELETE FROM volumes WHERE name = ?", (name,))
            del self.volumes[name]
        self.driver.remove(name)
        log.info("volume %s removed", name)

    def prune(self, predicate: Callable[[Volume], bool]) -> tuple[list[str], int]:
        """Remove the unused volumes ``predicate`` accepts; their names and the bytes freed."""
        deleted, reclaimed = [], 0
        for volume in self.list():
            if not predicate(volume) or self.users(volume.name):
                continue
            size = self.size(volume)
            try:
                self.remove(volume.name)
            except Conflict:
                continue
            deleted.append(volume.name)
            reclaimed += size
        return deleted, reclaimed

    def size(self, volume: Volume) -> int:
        total = 0
        for root, _dirs, files in os.walk(volume.mountpoint):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
        return total

    # use by containers
    def acquire(self, name: str, user: str) -> str:
        self.get(name)
        return self.driver.acquire(name, user)

    def release(self, name: str, user: str) -> None:
        self.driver.release(name, user)


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise InvalidArgument(f'"{name}" includes invalid characters for a local volume name, only '
                              '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                              "directory, use absolute path")
