"""Layers as blobs: which blobs of the content store hold which layers.

A layer is unpacked once, in the snapshot store, by chain id. Its tar is also kept as a blob, so
that it can be pushed and saved byte for byte: a pulled layer as the registry served it (usually
gzip), a layer made here (import, commit, build) as the uncompressed tar, compressed with gzip the
first time it is pushed. The mapping diff id → blobs lives in the metadata database.

Blobs that no image needs are collected with the images; digests in ``leases`` (pulls and pushes
in flight) are kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from ..errdefs import NotFound
from . import compression
from .manifests import Descriptor

LAYER_TAR = compression.DOCKER_LAYER
LAYER_GZIP = compression.DOCKER_LAYER_GZIP


@dataclass
class LayerBlob:
    digest: str
    media_type: str
    size: int
    source: str | None     # a repository (domain/path) known to hold it

    def descriptor(self) -> Descriptor:
        return Descriptor(media_type=self.media_type, digest=self.digest, size=self.size)


class LayerBlobs:
    def __init__(self, content, records):
        self.content = content        # images.content.ContentStore
        self.records = records        # engine.store.Store (layer_blobs table)
        self.leases: set[str] = set()

    def known(self, diff_id: str) -> list[LayerBlob]:
        """Every blob known to hold the layer, here or not: a pull that found the layer already
        unpacked still learns the digest the registry has it under."""
        return [LayerBlob(*row) for row in self.records.layer_blobs(diff_id)]

    def find(self, diff_id: str, compressed: bool | None = None) -> LayerBlob | None:
        """A blob of the layer that is present, preferring the compression asked for."""
        blobs = [b for b in self.known(diff_id) if self.content.exists(b.digest)]
        if compressed is not None:
            blobs.sort(key=lambda b: (b.digest != diff_id) != compressed)
        return blobs[0] if blobs else None

    def record(self, digest: str, diff_id: str, media_type: str, size: int, source: str | None = None) -> None:
        self.records.add_layer_blob(digest, diff_id, media_type, size, source)

    def keep_uncompressed(self, tar_path: str, diff_id: str) -> None:
        """Keep a layer tar made here (a file whose digest is ``diff_id``, just unpacked) as the
        layer's blob: hard-linked when it can be, copied when not. Blocking."""
        if not self.content.exists(diff_id) and not self.content.adopt(tar_path, diff_id):
            writer = self.content.writer(f"layer-{diff_id}", diff_id, os.path.getsize(tar_path), wait=True)
            try:
                with open(tar_path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        writer.write(chunk)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
        self.record(diff_id, diff_id, LAYER_TAR, os.path.getsize(tar_path))

    def open_uncompressed(self, diff_id: str) -> BinaryIO:
        """The layer's tar, decompressed on the fly when its blob is compressed."""
        blob = self.find(diff_id, compressed=False)
        if blob is None:
            raise NotFound(f"layer {diff_id} has no content here: it was unpacked before hako kept "
                           "layer blobs; pull or import the image again")
        raw = self.content.open(blob.digest)
        if blob.digest == diff_id:
            return raw
        return compression.open_decompressed(raw, blob.media_type)

    def compressed(self, diff_id: str) -> LayerBlob:
        """A gzip blob of the layer for a push, made from the uncompressed one when there is none.
        Blocking."""
        blob = self.find(diff_id, compressed=True)
        if blob is not None and blob.digest != diff_id:
            return blob
        if blob is None:
            raise NotFound(f"layer {diff_id} has no content here: it was unpacked before hako kept "
                           "layer blobs; pull or import the image again")
        spool = self.content.writer(f"gzip-{diff_id}", wait=True)
        try:
            with self.content.open(diff_id) as src:
                compression.compress_gzip(src, spool)
            digest = spool.commit()
        except BaseException:
            spool.abort()
            raise
        size = self.content.size(digest)
        self.record(digest, diff_id, LAYER_GZIP, size)
        return LayerBlob(digest, LAYER_GZIP, size, None)

    def collect(self, live_diff_ids: set[str]) -> list[str]:
        """Delete blobs of layers no image uses any more, and blobs no layer claims."""
        claimed = {}
        for digest, diff_id in self.records.all_layer_blobs():
            claimed[digest] = diff_id
        removed = []
        for digest in self.content.digests():
            if digest in self.leases:
                continue
            diff_id = claimed.get(digest)
            if diff_id is not None and diff_id in live_diff_ids:
                continue
            self.records.delete_layer_blob(digest)
            self.content.delete(digest)
            removed.append(digest)
        return removed
