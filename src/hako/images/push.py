"""Pushing a local image to a registry: its layers, its config, then a manifest naming them.

Each layer goes as the blob kept for it (gzip-compressed on its first push when it was made
here). A blob the registry has is not sent again; one it has in another repository of the same
registry is mounted from there; anything else is uploaded. The manifest goes last, so a
registry never names an image whose blobs it lacks.
"""

from __future__ import annotations

import asyncio
import hashlib
import io

from . import compression, manifests, reference
from .progress import Progress
from .pull import ImageStores, short_id

CONCURRENT_UPLOADS = 5        # as dockerd's max-concurrent-uploads default


async def push(stores: ImageStores, client, image, ref: reference.Reference, progress: Progress) -> tuple[str, int]:
    """Push ``image`` as ``ref`` (a tagged reference); returns the manifest's digest and size."""
    domain, path = reference.split_domain(ref.repository)
    diff_ids = list(image.config.get("rootfs", {}).get("diff_ids") or [])
    for diff_id in reversed(diff_ids):
        progress.layer(short_id(diff_id), "Preparing")
    semaphore = asyncio.Semaphore(CONCURRENT_UPLOADS)
    leased = set()
    try:
        tasks = [asyncio.create_task(_push_layer(stores, client, domain, path, diff_id, semaphore, progress, leased))
                 for diff_id in diff_ids]
        try:
            layers = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        # Docker's schema 2 as dockerd pushes it; OCI when a layer is zstd, which schema 2 lacks.
        oci = any(compression.layer_compression(layer.media_type) == "zstd" for layer in layers)
        layers = [manifests.Descriptor(media_type=compression.layer_media_type(
                      compression.layer_compression(layer.media_type), oci=oci), digest=layer.digest, size=layer.size)
                  for layer in layers]
        config = manifests.Descriptor(media_type=manifests.OCI_CONFIG if oci else manifests.DOCKER_CONFIG,
                                      digest="sha256:" + hashlib.sha256(image.config_bytes).hexdigest(),
                                      size=len(image.config_bytes))
        if await client.blob_exists(path, config.digest) is None:
            await client.upload_blob(path, config.digest, config.size, lambda: io.BytesIO(image.config_bytes))
        media_type = manifests.OCI_MANIFEST if oci else manifests.DOCKER_MANIFEST
        body = manifests.build_manifest(config, layers, media_type)
        digest = await client.put_manifest(path, ref.tag or "latest", media_type, body)
    finally:
        stores.blobs.leases.difference_update(leased)
    stores.images.add_repo_digest(image, ref.repository, digest)
    progress.status(f"{ref.tag or 'latest'}: digest: {digest} size: {len(body)}")
    progress.aux({"Tag": ref.tag or "latest", "Digest": digest, "Size": len(body)})
    return digest, len(body)


async def _push_layer(stores, client, domain: str, path: str, diff_id: str, semaphore, progress, leased):
    lid = short_id(diff_id)
    async with semaphore:
        found = await _already_there(stores, client, domain, path, diff_id, progress)
        if found is not None:
            return found.descriptor()
        blob = await asyncio.to_thread(stores.blobs.compressed, diff_id)
        stores.blobs.leases.add(blob.digest)
        leased.add(blob.digest)
        progress.layer(lid, "Pushing")
        await client.upload_blob(path, blob.digest, blob.size, lambda: stores.content.open(blob.digest),
                                 progress=lambda n: progress.bytes(lid, "Pushing", n, blob.size))
        progress.layer(lid, "Pushed")
        stores.blobs.record(blob.digest, diff_id, blob.media_type, blob.size, f"{domain}/{path}")
        return blob.descriptor()


async def _already_there(stores, client, domain: str, path: str, diff_id: str, progress):
    """A compressed blob of the layer the registry has in this repository, or can mount from
    another one it was pulled from or pushed to, as dockerd checks its distribution metadata."""
    lid = short_id(diff_id)
    for blob in stores.blobs.known(diff_id):
        if blob.digest == diff_id:
            continue                  # the uncompressed tar kept here: never pushed as it is
        if await client.blob_exists(path, blob.digest) is not None:
            progress.layer(lid, "Layer already exists")
        elif (blob.source and blob.source.startswith(domain + "/") and blob.source != f"{domain}/{path}"
              and await client.mount_blob(path, blob.digest, blob.source.split("/", 1)[1])):
            progress.layer(lid, f"Mounted from {blob.source.split('/', 1)[1]}")
        else:
            continue
        stores.blobs.record(blob.digest, diff_id, blob.media_type, blob.size, f"{domain}/{path}")
        return blob
    return None
