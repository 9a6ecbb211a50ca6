"""The runtime's on-disk state: one directory per container under ``--root``.

    <root>/<id>/state.json   what `state` prints, plus what later commands need (config, cgroup)
    <root>/<id>/exec.fifo    exists between create and start; init blocks opening it for writing

The status is never trusted from the file alone: it is recomputed from the init process (alive,
same start time, so a recycled pid is not mistaken for the container), the fifo and the freezer.
"""

from __future__ import annotations

import json
import os
import shutil

from .errors import AlreadyExists, ConfigError, NotFound

OCI_VERSION = "1.0.2"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")

CREATING, CREATED, RUNNING, PAUSED, STOPPED = "creating", "created", "running", "paused", "stopped"


class ContainerState:
    """What `state` prints, plus what later commands need (the config and the cgroup path).

    A plain class rather than a dataclass: importing dataclasses costs ~15 ms, and this module is
    on the start-up path of every `hako-runtime` invocation.
    """

    FIELDS = ("id", "bundle", "rootfs", "pid", "status", "created", "owner", "annotations",
              "init_start_time", "cgroup_path", "config")

    def __init__(self, id: str, bundle: str, rootfs: str, pid: int = 0, status: str = CREATING,
                 created: str = "", owner: str = "", annotations: dict | None = None,
                 init_start_time: int = 0, cgroup_path: str = "", config: dict | None = None):
        self.id = id
        self.bundle = bundle
        self.rootfs = rootfs
        self.pid = pid
        self.status = status
        self.created = created
        self.owner = owner
        self.annotations = annotations or {}
        self.init_start_time = init_start_time
        self.cgroup_path = cgroup_path
        self.config = config or {}

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}

    def oci(self) -> dict:
        """The state as runtime-spec defines it (and as runc prints it)."""
        return {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": 0 if self.status == STOPPED else self.pid,
            "status": self.status,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "annotations": self.annotations,
            "owner": self.owner,
        }

    def can_start(self) -> bool:
        return self.status == CREATED

    def can_kill(self) -> bool:
        return self.status in (CREATED, RUNNING, PAUSED)

    def can_pause(self) -> bool:
        return self.status == RUNNING

    def can_resume(self) -> bool:
        return self.status == PAUSED

    def can_delete(self) -> bool:
        return self.status in (STOPPED, CREATED, CREATING)


def validate_id(container_id: str) -> None:
    if (not container_id or not container_id[0].isalnum() or not container_id.isascii()
            or not _ID_CHARS.issuperset(container_id) or len(container_id) > 1024):
        raise ConfigError(f"invalid container id {container_id!r}: must match [A-Za-z0-9][A-Za-z0-9_.+-]*")


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat, or None if the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = stat[stat.rindex(b")") + 2:].split()
    if rest[0] in (b"Z", b"X"):
        return None
    return int(rest[19])


class StateStore:
    """The container directories under one root."""

    def __init__(self, root: str):
        self.root = root

    @property
    def seccomp_cache(self) -> str:
        """Compiled seccomp filters, keyed by their spec (kept on the root's tmpfs)."""
        path = os.path.join(self.root, ".seccomp-cache")
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    def dir(self, container_id: str) -> str:
        return os.path.join(self.root, container_id)

    def fifo(self, container_id: str) -> str:
        return os.path.join(self.dir(container_id), "exec.fifo")

    def reserve(self, container_id: str) -> str:
        """Make the container's directory; the id is taken from here on."""
        validate_id(container_id)
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        path = self.dir(container_id)
        try:
            os.mkdir(path, 0o711)
        except FileExistsError:
            raise AlreadyExists(f"container with id exists: {container_id}") from None
        return path

    def save(self, state: ContainerState) -> None:
        path = os.path.join(self.dir(state.id), "state.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state.to_dict(), f)
        os.rename(tmp, path)

    def load(self, container_id: str) -> ContainerState:
        validate_id(container_id)
        path = os.path.join(self.dir(container_id), "state.json")
        try:
            with open(path) as f:
                data = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"container does not exist: {container_id}") from None
        except ValueError:
            raise NotFound(f"container {container_id}: state is corrupt") from None
        state = ContainerState(**{k: data[k] for k in ContainerState.FIELDS if k in data})
        state.status = self._live_status(state)
        return state

    def _live_status(self, state: ContainerState) -> str:
        if not state.pid:  # still creating: init does not exist yet
            return state.status
        if state.status == STOPPED or process_start_time(state.pid) != state.init_start_time:
            return STOPPED
        if os.path.exists(self.fifo(state.id)):
            return CREATED
        return state.status if state.status == PAUSED else RUNNING

    def ids(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        return [n for n in names if not n.startswith(".") and os.path.exists(os.path.join(self.root, n, "state.json"))]

    def remove(self, container_id: str) -> None:
        shutil.rmtree(self.dir(container_id), ignore_errors=True)
