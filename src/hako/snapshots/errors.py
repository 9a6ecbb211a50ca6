"""What can go wrong in the snapshot store, as kinds the API maps to statuses (see hako.errdefs).

    HakoError
    ├── InvalidArgument
    │   ├── LayerError            an archive that cannot be applied safely or is not a tar
    │   └── InvalidSnapshotKey    a key that is not a plain name (it becomes a directory name)
    ├── NotFound
    │   └── SnapshotNotFound      no such layer (chain id) or writable snapshot (key)
    └── Conflict
        └── SnapshotExists        prepare() with a key already in use

Kernel refusals (mount(2) failing, a full disk) stay OSError: they are not the caller's fault and
the API turns them into a 500.
"""

from __future__ import annotations

from ..errdefs import Conflict, InvalidArgument, NotFound


class LayerError(InvalidArgument):
    """The archive was rejected: it escapes its root, is malformed, or its digest is not the one expected."""


class InvalidSnapshotKey(InvalidArgument):
    pass


class SnapshotNotFound(NotFound):
    pass


class SnapshotExists(Conflict):
    pass
