"""The layer store: read-only image layers and each container's writable overlay root over them.

Vocabulary (after containerd's snapshotter): a *layer* is committed and read-only, named by its
ChainID; a *writable snapshot* (rw) belongs to one container, is named by a *key* (the container
id) and sits on a parent layer. A container's root filesystem is one overlay mount:

    lowerdir = the parent layer and the layers under it (top first)
    upperdir = rw/<key>/upper      where the container's writes land
    workdir  = rw/<key>/work       overlayfs' scratch space, same filesystem as upper

Lifecycle, as the daemon drives it:

    store = LayerStore("/var/lib/hako/overlay")
    base = store.apply_tar(open("rootfs.tar", "rb"), parent=None)     # image pull, layer 1
    app = store.apply_tar(open("app.tar", "rb"), parent=base.chain_id) # layer 2
    store.prepare("c0ffee", parent=app.chain_id)                       # docker create
    rootfs = store.mount("c0ffee")                                     # docker start
    store.changes("c0ffee")                                            # docker diff
    diff_id = store.diff_tar("c0ffee", out)                            # docker commit
    store.remove_rw("c0ffee")                                          # docker rm
    store.remove(app.chain_id)                                         # docker rmi

On disk, under the root:

    layers/<hex>/diff/          the layer's content, overlay format (whiteouts are 0:0 devices)
    layers/<hex>/layer.json     its Layer, written before the directory got its name
    rw/<key>/{upper,work,merged}  plus snapshot.json (the parent) and empty/ (the lower of a
                                  snapshot without parent: overlay needs at least one)
    tmp/                        work in progress: new-* being built, del-* being deleted,
                                ro-* read-only mounts for export; all of it is garbage at start

Everything appears by one rename from tmp/ and disappears by one rename into tmp/, so a daemon
killed at any instant restarts into a store where each layer and snapshot is whole or absent;
LayerStore() sweeps tmp/. Mounts of rw/<key>/merged are left alone at start: containers outlive
the daemon.

The store is safe to use from several threads (the daemon runs blocking work off its event loop);
tar extraction runs unlocked, only the moments that change the index take the lock.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
from typing import BinaryIO

from . import durable, mounting
from .apply import apply_tar, hash_stream
from .changes import upper_changes
from .errors import InvalidSnapshotKey, LayerError, SnapshotExists, SnapshotNotFound
from .model import DIGEST, Layer, Mount, chain_id as make_chain_id
from .safefs import DIR_FLAGS
from .tarwrite import write_tree
from .walk import walk_tree

log = logging.getLogger(__name__)

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Options that keep an upper directory a plain tree that diff_tar can read: no redirects of
# renamed directories, no metadata-only copy-ups, and no inode index (which would tie an upper
# to one set of lowers and refuse a remount after a crash). Explicit, whatever the kernel's defaults.
OVERLAY_OPTIONS = ("index=off", "redirect_dir=off", "metacopy=off")
# Characters overlayfs' option parser treats specially in lowerdir/upperdir values.
_UNSAFE_IN_OPTIONS = re.compile(r"[,:\\\s]")


class LayerStore:
    def __init__(self, root: str, *, delete_in_background: bool = False):
        """``delete_in_background``: a removed layer or snapshot vanishes at once (a rename) and
        its files are deleted by a thread of their own, so that a daemon's event loop never waits
        on an rmtree of thousands of files; what a crash leaves half-deleted, the next start
        sweeps from tmp/."""
        root = os.path.realpath(root)
        if _UNSAFE_IN_OPTIONS.search(root):
            raise ValueError(f"layer store root {root!r} cannot appear in overlay mount options")
        self.root = root
        self.layers_dir = os.path.join(root, "layers")
        self.rw_dir = os.path.join(root, "rw")
        self.tmp_dir = os.path.join(root, "tmp")
        for path in (root, self.layers_dir, self.rw_dir, self.tmp_dir):
            os.makedirs(path, mode=0o700, exist_ok=True)
        self._lock = threading.RLock()
        self._delete_in_background = delete_in_background
        self._sweep_tmp()
        self._layers: dict[str, Layer] = self._load_layers()

    # ---- start-up --------------------------------------------------------------------------

    def _sweep_tmp(self) -> None:
        """Throw away whatever a previous run left half-done in tmp/."""
        for name in os.listdir(self.tmp_dir):
            self._discard(os.path.join(self.tmp_dir, name))

    def _load_layers(self) -> dict[str, Layer]:
        layers = {}
        for name in os.listdir(self.layers_dir):
            try:
                with open(os.path.join(self.layers_dir, name, "layer.json")) as f:
                    layer = Layer(**json.load(f))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("ignoring layer directory %s: %s", name, exc)
                continue
            if layer.chain_id != "sha256:" + name:
                log.warning("ignoring layer directory %s: it holds %s", name, layer.chain_id)
                continue
            layers[layer.chain_id] = layer
        return layers

    # ---- layers ------------------------------------------------------------------------------

    def apply_tar(self, stream: BinaryIO, parent: str | None, *, expected_diff_id: str | None = None) -> Layer:
        """Unpack an uncompressed layer tar over ``parent`` into a new layer, or find it present.

        The whole stream is always consumed, since the diff_id is its digest. With
        ``expected_diff_id`` (the image config says what it must be) a layer already present is
        found without unpacking anything, and a stream with another digest is a LayerError.
        """
        if parent is not None and self.get(parent) is None:
            raise SnapshotNotFound(f"no such layer: {parent}")
        if expected_diff_id is not None:
            if not DIGEST.match(expected_diff_id):
                raise LayerError(f"not a sha256 digest: {expected_diff_id!r}")
            existing = self.get(make_chain_id(parent, expected_diff_id))
            if existing is not None:
                _check_digest(hash_stream(stream), expected_diff_id)
                return existing
        work = self._new_tmp("new-")
        try:
            diff = os.path.join(work, "diff")
            os.mkdir(diff)
            os.chmod(diff, 0o755)
            applied = apply_tar(stream, diff)
            if expected_diff_id is not None:
                _check_digest(applied.diff_id, expected_diff_id)
            layer = Layer(make_chain_id(parent, applied.diff_id), applied.diff_id, parent, applied.size)
            existing = self.get(layer.chain_id)
            if existing is not None:
                return existing
            durable.syncfs(work)     # unlocked: it may take a while on a busy disk
            return self._commit_layer(work, layer)
        finally:
            self._discard(work)      # a no-op once it was renamed into layers/

    def _commit_layer(self, work: str, layer: Layer) -> Layer:
        with self._lock:
            existing = self._layers.get(layer.chain_id)
            if existing is not None:      # committed by another thread meanwhile
                return existing
            meta = json.dumps(dataclasses.asdict(layer), sort_keys=True).encode()
            durable.write_new_file(os.path.join(work, "layer.json"), meta)
            target = self._layer_dir(layer.chain_id)
            if os.path.lexists(target):      # a damaged directory _load_layers passed over
                self._retire(target, self.layers_dir)
            os.rename(work, target)
            durable.fsync_dir(self.layers_dir)
            self._layers[layer.chain_id] = layer
            log.info("layer %s committed (diff %s, parent %s)", layer.chain_id, layer.diff_id, layer.parent)
            return layer

    def get(self, chain_id: str) -> Layer | None:
        return self._layers.get(chain_id)

    def layers(self) -> list[Layer]:
        return list(self._layers.values())

    def remove(self, chain_id: str) -> None:
        """Delete a layer; the caller guarantees no layer or snapshot sits on it."""
        with self._lock:
            if self._layers.pop(chain_id, None) is None:
                raise SnapshotNotFound(f"no such layer: {chain_id}")
            self._retire(self._layer_dir(chain_id), self.layers_dir)
        log.info("layer %s removed", chain_id)

    def lower_dirs(self, chain_id: str) -> list[str]:
        """The content directories of a layer and all under it, top first (overlay's lowerdir order)."""
        dirs = []
        current: str | None = chain_id
        while current is not None:
            layer = self._layers.get(current)
            if layer is None:
                raise SnapshotNotFound(f"no such layer: {current}")
            dirs.append(os.path.join(self._layer_dir(current), "diff"))
            current = layer.parent
        return dirs

    def _layer_dir(self, chain_id: str) -> str:
        if not DIGEST.match(chain_id):
            raise SnapshotNotFound(f"no such layer: {chain_id}")
        return os.path.join(self.layers_dir, chain_id.removeprefix("sha256:"))

    # ---- writable snapshots ------------------------------------------------------------------

    def prepare(self, key: str, parent: str | None) -> None:
        """Make the writable snapshot ``key`` over layer ``parent`` (None: over an empty root)."""
        target = self._rw_path(key)
        with self._lock:
            if os.path.lexists(target):
                raise SnapshotExists(f"snapshot {key} already exists")
            if parent is not None and parent not in self._layers:
                raise SnapshotNotFound(f"no such layer: {parent}")
            work = self._new_tmp("new-rw-")
            try:
                for name in ("upper", "work", "merged", "empty"):
                    os.mkdir(os.path.join(work, name))
                    os.chmod(os.path.join(work, name), 0o755)
                durable.write_new_file(os.path.join(work, "snapshot.json"), json.dumps({"parent": parent}).encode())
                durable.fsync_dir(work)
                os.rename(work, target)
                durable.fsync_dir(self.rw_dir)
            finally:
                self._discard(work)
        log.info("snapshot %s prepared over %s", key, parent)

    def upper_dir(self, key: str) -> str:
        """Where the writable snapshot's changes land (read-only use: diffs, sizes)."""
        return os.path.join(self._rw_path(key), "upper")

    def parent(self, key: str) -> str | None:
        """The layer a writable snapshot sits on."""
        try:
            with open(os.path.join(self._rw_path(key), "snapshot.json")) as f:
                return json.load(f)["parent"]
        except FileNotFoundError:
            raise SnapshotNotFound(f"no such snapshot: {key}") from None

    def mounts(self, key: str) -> list[Mount]:
        """The overlay mount that makes rw/<key>/merged the container's root."""
        path = self._rw_path(key)
        parent = self.parent(key)
        lowers = self.lower_dirs(parent) if parent is not None else [os.path.join(path, "empty")]
        options = [f"lowerdir={':'.join(lowers)}",
                   f"upperdir={os.path.join(path, 'upper')}",
                   f"workdir={os.path.join(path, 'work')}",
                   *OVERLAY_OPTIONS]
        return [Mount("overlay", "overlay", os.path.join(path, "merged"), options)]

    def mount(self, key: str) -> str:
        """Mount the snapshot at rw/<key>/merged unless it already is; returns that path."""
        with self._lock:
            (m,) = self.mounts(key)
            if not mounting.is_mount_point(m.target):
                mounting.mount(m)
            return m.target

    def unmount(self, key: str) -> None:
        """Unmount rw/<key>/merged; nothing mounted (or no such snapshot) is fine."""
        with self._lock:
            mounting.unmount(os.path.join(self._rw_path(key), "merged"))

    def remove_rw(self, key: str) -> None:
        """Unmount and delete the snapshot; an absent one is fine (removal is idempotent)."""
        path = self._rw_path(key)
        with self._lock:
            mounting.unmount_all_under(path)
            if os.path.lexists(path):
                self._retire(path, self.rw_dir)
                log.info("snapshot %s removed", key)

    def rw_keys(self) -> list[str]:
        return sorted(os.listdir(self.rw_dir))

    def changes(self, key: str) -> list[tuple[str, int]]:
        """`docker diff`: (path, kind) sorted by path; kind 0 modified, 1 added, 2 deleted."""
        parent = self.parent(key)
        lowers = self.lower_dirs(parent) if parent is not None else []
        return upper_changes(os.path.join(self._rw_path(key), "upper"), lowers)

    def diff_tar(self, key: str, out: BinaryIO) -> str:
        """Write the snapshot's changes as an OCI layer tar; returns its diff_id."""
        self.parent(key)         # NotFound before anything is written
        return write_tree(os.path.join(self._rw_path(key), "upper"), out, upper=True)

    def export(self, key: str, out: BinaryIO) -> None:
        """Write the snapshot's whole root filesystem as a tar, like `docker export`.

        A mounted snapshot is read through its mount. Otherwise the upper directory is mounted,
        read-only, as the top lower of a private overlay in tmp/, so that exporting never touches
        rw/<key>/merged, which a container start may be mounting at the same moment.
        """
        path = self._rw_path(key)
        parent = self.parent(key)
        merged = os.path.join(path, "merged")
        if mounting.is_mount_point(merged):
            write_tree(merged, out, upper=False)
            return
        lowers = [os.path.join(path, "upper")]
        lowers += self.lower_dirs(parent) if parent is not None else [os.path.join(path, "empty")]
        view = self._new_tmp("ro-")
        try:
            mounting.mount(Mount("overlay", "overlay", view, ["ro", f"lowerdir={':'.join(lowers)}", *OVERLAY_OPTIONS]))
            write_tree(view, out, upper=False)
        finally:
            self._discard(view)

    def disk_usage(self, key: str) -> int:
        """Bytes the container wrote: sizes of everything but directories in its upper, each inode once."""
        upper = os.path.join(self._rw_path(key), "upper")
        try:
            fd = os.open(upper, DIR_FLAGS)
        except FileNotFoundError:
            raise SnapshotNotFound(f"no such snapshot: {key}") from None
        seen, total = set(), 0
        try:
            for entry in walk_tree(fd):
                st = entry.st
                if stat.S_ISDIR(st.st_mode) or (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
        finally:
            os.close(fd)
        return total

    def _rw_path(self, key: str) -> str:
        if not isinstance(key, str) or not KEY.match(key):
            raise InvalidSnapshotKey(f"invalid snapshot key {key!r}")
        return os.path.join(self.rw_dir, key)

    # ---- tmp/ ----------------------------------------------------------------------------------

    def _new_tmp(self, prefix: str) -> str:
        return tempfile.mkdtemp(prefix=prefix, dir=self.tmp_dir)

    def _retire(self, path: str, parent_dir: str) -> None:
        """Make ``path`` vanish in one step (a rename into tmp/), then delete it at leisure."""
        grave = os.path.join(self._new_tmp("del-"), "x")
        os.rename(path, grave)
        durable.fsync_dir(parent_dir)
        if self._delete_in_background:
            threading.Thread(target=self._discard, args=(os.path.dirname(grave),), name="layer-delete",
                             daemon=True).start()
        else:
            self._discard(os.path.dirname(grave))

    def _discard(self, path: str) -> None:
        """Delete a tmp/ entry, unmounting anything under it first; failures only warn."""
        if not os.path.lexists(path):
            return
        try:
            mounting.unmount_all_under(path)
            shutil.rmtree(path)
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc)


def _check_digest(actual: str, expected: str) -> None:
    if actual != expected:
        raise LayerError(f"layer digest mismatch: got {actual}, expected {expected}")
