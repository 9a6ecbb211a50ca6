"""The values the snapshot store hands out: committed layers and mount descriptions.

A layer is named by its OCI ChainID, which identifies a layer *together with everything under it*:

    chain(L1) = diff_id(L1)
    chain(Ln) = sha256(chain(Ln-1) + " " + diff_id(Ln))      (hex digest, "sha256:" prefixed)

so two images that share their first three layers share three directories on disk, while the same
tar applied over different parents gives different layers (its content on disk is the same, but the
view it produces is not). See the OCI image spec, config.md, "Layer ChainID".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Layer:
    """A committed, read-only layer."""

    chain_id: str        # "sha256:<hex>", see chain_id()
    diff_id: str         # "sha256:<hex>" of the uncompressed tar it was made from
    parent: str | None   # the chain id of the layer under it
    size: int            # bytes of unpacked content: the sum of its regular files' sizes


@dataclass(frozen=True)
class Mount:
    """A mount(2) to make, described; whoever owns the mount namespace performs it.

    ``options`` are the comma-separated words of mount(8)'s -o: flags such as ``ro`` and the
    filesystem's own data such as ``lowerdir=…``.
    """

    type: str
    source: str
    target: str
    options: list[str]


def chain_id(parent_chain_id: str | None, diff_id: str) -> str:
    """The ChainID of a layer with ``diff_id`` applied over the layer ``parent_chain_id``."""
    if not DIGEST.match(diff_id):
        raise ValueError(f"not a sha256 digest: {diff_id!r}")
    if parent_chain_id is None:
        return diff_id
    if not DIGEST.match(parent_chain_id):
        raise ValueError(f"not a sha256 digest: {parent_chain_id!r}")
    return "sha256:" + hashlib.sha256(f"{parent_chain_id} {diff_id}".encode()).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The ChainIDs of a stack of layers given bottom first, as an image config's rootfs.diff_ids."""
    chains: list[str] = []
    for diff_id in diff_ids:
        chains.append(chain_id(chains[-1] if chains else None, diff_id))
    return chains
