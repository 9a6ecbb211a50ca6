"""Image layers and container root filesystems on overlayfs.

    from hako.snapshots import LayerStore
    store = LayerStore("/var/lib/hako/overlay")
    layer = store.apply_tar(stream, parent=None)        # untrusted tar in, read-only Layer out
    store.prepare(container_id, parent=layer.chain_id)  # a writable snapshot for a container
    rootfs = store.mount(container_id)                  # or store.mounts(id) to mount elsewhere

See store.py for the lifecycle and the on-disk layout, apply.py for what makes tar extraction
safe, errors.py for what can go wrong.
"""

from .changes import ADDED, DELETED, MODIFIED
from .errors import InvalidSnapshotKey, LayerError, SnapshotExists, SnapshotNotFound
from .model import Layer, Mount, chain_id, chain_ids
from .store import LayerStore

__all__ = ["LayerStore", "Layer", "Mount", "chain_id", "chain_ids", "LayerError", "InvalidSnapshotKey",
           "SnapshotExists", "SnapshotNotFound", "MODIFIED", "ADDED", "DELETED"]
