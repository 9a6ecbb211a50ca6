"""Docker's `local` volume driver: a directory under the data root, or a filesystem mounted there.

    driver = LocalDriver("/var/lib/hako/volumes")
    path = driver.create("vol1", {})                       # volumes/vol1/_data, a plain directory
    driver.create("cache", {"type": "tmpfs", "device": "tmpfs", "o": "size=64m"})
    driver.acquire("cache", container_id)   # mounts volumes/cache/_data on its first user
    driver.release("cache", container_id)   # unmounts it when its last user is gone
    driver.remove("vol1")

A volume with options (`type`, `device`, `o`, as mount(8) takes them) is mounted while a container
uses it and unmounted after, as Docker's local driver does; one without is only a directory.
Users are counted in memory; hakod rebuilds the counts at start from its running containers.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
import threading

from ..errdefs import InvalidArgument, SystemError
from ..linux import syscalls
from ..snapshots import mounting

log = logging.getLogger(__name__)

VALID_OPTIONS = ("type", "device", "o", "size")
# Docker's mandatoryOpts: an option that needs others beside it.
REQUIRED_WITH = {"device": ("type",), "type": ("device",), "o": ("device", "type")}
_FLAG_WORDS = {"ro": syscalls.MS_RDONLY, "rw": 0, "nosuid": syscalls.MS_NOSUID, "nodev": syscalls.MS_NODEV,
               "noexec": syscalls.MS_NOEXEC, "noatime": syscalls.MS_NOATIME, "relatime": syscalls.MS_RELATIME,
               "bind": syscalls.MS_BIND, "rbind": syscalls.MS_BIND | syscalls.MS_REC,
               "suid": 0, "dev": 0, "exec": 0, "defaults": 0}


def check_options(options: dict[str, str]) -> None:
    """Docker's validateOpts, with its messages."""
    for key in options:
        if key not in VALID_OPTIONS:
            raise InvalidArgument(f'invalid option: "{key}"')
    if "size" in options:
        raise InvalidArgument("quota size requested but no quota support")
    for key in ("device", "type", "o"):
        if key in options:
            for required in REQUIRED_WITH[key]:
                if required not in options:
                    raise InvalidArgument(f'missing required option: "{required}"')


def mount_flags(o: str) -> tuple[int, str]:
    """mount(2) flags and data for an `o=` value (mount(8)'s -o)."""
    flags, data = 0, []
    for word in filter(None, o.split(",")):
        if word in _FLAG_WORDS:
            flags |= _FLAG_WORDS[word]
        else:
            data.append(word)
    return flags, ",".join(data)


class LocalDriver:
    def __init__(self, root: str):
        self.root = root
        os.makedirs(root, mode=0o701, exist_ok=True)
        self._lock = threading.Lock()
        self._users: dict[str, set[str]] = {}
        self._options: dict[str, dict[str, str]] = {}

    def path(self, name: str) -> str:
        return os.path.join(self.root, name, "_data")

    def create(self, name: str, options: dict[str, str]) -> str:
        """Make volumes/<name>/_data (built in a temporary directory, renamed into place)."""
        check_options(options)
        target = os.path.join(self.root, name)
        work = tempfile.mkdtemp(prefix=".new-", dir=self.root)
        try:
            os.mkdir(os.path.join(work, "_data"), 0o755)
            os.chmod(os.path.join(work, "_data"), 0o755)
            os.chmod(work, 0o701)
            os.rename(work, target)
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
            raise
        self._options[name] = dict(options)
        return self.path(name)

    def load(self, name: str, options: dict[str, str]) -> None:
        """A volume known from the store at start."""
        self._options[name] = dict(options)

    def remove(self, name: str) -> None:
        path = os.path.join(self.root, name)
        mounting.unmount_all_under(path)
        grave = tempfile.mkdtemp(prefix=".del-", dir=self.root)
        try:
            os.rename(path, os.path.join(grave, "x"))
        except FileNotFoundError:
            pass
        shutil.rmtree(grave, ignore_errors=True)
        self._options.pop(name, None)
        self._users.pop(name, None)

    def needs_mount(self, name: str) -> bool:
        return bool(self._options.get(name))

    def acquire(self, name: str, user: str) -> str:
        """Count ``user`` as a user of the volume, mounting it for its first one; its path."""
        with self._lock:
            users = self._users.setdefault(name, set())
            path = self.path(name)
            if self.needs_mount(name) and not users and not mounting.is_mount_point(path):
                self._mount(name, path)
            users.add(user)
            return path

    def release(self, name: str, user: str) -> None:
        with self._lock:
            users = self._users.get(name)
            if users is None:
                return
            users.discard(user)
            if not users and self.needs_mount(name):
                try:
                    mounting.unmount(self.path(name))
                except OSError as exc:
                    log.warning("volume %s: unmounting: %s", name, exc)

    def restore(self, users: dict[str, set[str]]) -> None:
        """At start: the volumes running containers use; the others' mounts go."""
        with self._lock:
            self._users = {name: set(ids) for name, ids in users.items()}
            for name in self._options:
                if self.needs_mount(name) and not self._users.get(name):
                    try:
                        mounting.unmount(self.path(name))
                    except OSError as exc:
                        log.warning("volume %s: unmounting: %s", name, exc)

    def _mount(self, name: str, path: str) -> None:
        options = self._options[name]
        flags, data = mount_flags(options.get("o", ""))
        device, fstype = options.get("device", ""), options.get("type", "")
        if flags & syscalls.MS_BIND:
            if not os.path.isdir(device) and not os.path.exists(device):
                raise InvalidArgument(f"error while mounting volume '{path}': failed to mount local volume: "
                                      f"mount {device}:{path}, flags: {hex(flags)}: no such file or directory")
        try:
            syscalls.mount(device, path, fstype if not flags & syscalls.MS_BIND else None, flags, data or None)
            if flags & syscalls.MS_BIND and flags & syscalls.MS_RDONLY:
                # A bind mount ignores MS_RDONLY until it is remounted (mount(2)).
                syscalls.mount(None, path, None, flags | syscalls.MS_REMOUNT, None)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise SystemError(f"error while mounting volume '{path}': failed to mount local volume: {exc}") from None
            raise InvalidArgument(f"error while mounting volume '{path}': failed to mount local volume: "
                                  f"mount {device}:{path}, data: {data}: {exc.strerror}") from None
