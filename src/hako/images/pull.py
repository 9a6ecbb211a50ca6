"""Pulling an image from a registry into the local stores.

    manifest (or an index → the platform's manifest) → config → layers

Layers download three at a time into the content store, where a blob becomes visible only once
its digest and size are verified; they unpack in order, each over the one below it, with the
uncompressed stream checked against the config's diff id. A layer whose chain id is already
unpacked is neither fetched nor unpacked again, and a blob already verified is not fetched again,
so a pull interrupted at any point (even by kill -9) continues where it stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field

from ..errdefs import InvalidArgument, Unsupported
from ..snapshots import chain_ids as make_chain_ids
from . import compression, manifests, reference
from .progress import Progress
from .readers import CountingReader
from .readahead import ReadAhead

CONCURRENT_DOWNLOADS = 3      # as dockerd's max-concurrent-downloads default
MAX_CONFIG_SIZE = 8 << 20

ACCEPT = [
    manifests.DOCKER_MANIFEST, manifests.DOCKER_MANIFEST_LIST,
    manifests.OCI_MANIFEST, manifests.OCI_INDEX,
]


@dataclass
class PullResult:
    image: object          # images.store.Image
    digest: str            # the manifest (or index) digest the reference resolved to
    new: bool              # False when everything was here already


@dataclass
class ImageStores:
    """The stores a pull or push works on, as the engine wires them."""
    content: object        # images.content.ContentStore
    layers: object         # snapshots.LayerStore
    images: object         # images.store.ImageStore
    blobs: object          # images.layerblobs.LayerBlobs
    layer_leases: list = field(default_factory=list)   # chain ids in use by pulls in flight


class _BytesSink:
    """Collects a small blob (a config) in memory."""

    def __init__(self, limit: int):
        self.data = bytearray()
        self.offset = 0
        self.limit = limit

    def write(self, chunk: bytes) -> None:
        self.data += chunk
        self.offset = len(self.data)
        if self.offset > self.limit:
            raise InvalidArgument(f"image config larger than {self.limit} bytes")

    def reset(self) -> None:
        self.data.clear()
        self.offset = 0


class _ProgressSink:
    """A content-store writer that reports download progress."""

    def __init__(self, writer, report):
        self.writer = writer
        self.report = report

    @property
    def offset(self) -> int:
        return self.writer.offset

    def write(self, chunk: bytes) -> None:
        self.writer.write(chunk)
        self.report(self.writer.offset)

    def reset(self) -> None:
        self.writer.reset()


def short_id(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


async def resolve(client, path: str, ref: reference.Reference, platform) -> tuple[manifests.Manifest, str]:
    """The image manifest for ``ref`` on this platform, and the digest the reference names (an
    index's digest when the tag points to one, as Docker records it)."""
    tag_or_digest = ref.digest or ref.tag or "latest"
    media_type, body, digest = await client.get_manifest(path, tag_or_digest, ACCEPT)
    media_type = manifests.detect_media_type(body, media_type)
    if media_type in (manifests.DOCKER_MANIFEST_LIST, manifests.OCI_INDEX):
        index = manifests.parse_index(media_type, body)
        chosen = manifests.select_manifest(index, platform)
        child_type, child_body, _ = await client.get_manifest(path, chosen.digest, ACCEPT)
        child_type = manifests.detect_media_type(child_body, child_type)
        if child_type in (manifests.DOCKER_MANIFEST_LIST, manifests.OCI_INDEX):
            raise Unsupported("nested image indexes are not supported")
        return manifests.parse_manifest(child_type, child_body), digest
    return manifests.parse_manifest(media_type, body), digest


async def pull(stores: ImageStores, client, ref: reference.Reference, platform, progress: Progress) -> PullResult:
    domain, path = reference.split_domain(ref.repository)
    manifest, digest = await resolve(client, path, ref, platform)
    progress.status(f"Pulling from {path}", id=ref.tag if not ref.digest else ref.digest)

    config_bytes = await _fetch_config(client, path, manifest.config)
    config = json.loads(config_bytes)
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    if len(diff_ids) != len(manifest.layers):
        raise InvalidArgument(f"invalid image {ref}: the config lists {len(diff_ids)} layers, "
                              f"the manifest {len(manifest.layers)}")
    _check_platform(config, platform)
    for layer in manifest.layers:
        compression.layer_compression(layer.media_type)

    chain_ids = make_chain_ids(diff_ids)
    # As dockerd: "up to date" when the reference already named this very image.
    before = stores.images.find(str(ref))
    up_to_date = before is not None and before.id == manifest.config.digest

    await _pull_layers(stores, client, f"{domain}/{path}", manifest.layers, diff_ids, chain_ids, progress)
    top = chain_ids[-1] if chain_ids else None
    image = stores.images.add_config_bytes(config_bytes, top)
    stores.images.add_repo_digest(image, ref.repository, digest)
    if not ref.digest:
        stores.images.tag(image, str(ref))
    progress.status(f"Digest: {digest}")
    if up_to_date:
        progress.status(f"Status: Image is up to date for {ref}")
    else:
        progress.status(f"Status: Downloaded newer image for {ref}")
    return PullResult(image, digest, not up_to_date)


async def _fetch_config(client, path: str, desc) -> bytes:
    if desc.size > MAX_CONFIG_SIZE:
        raise InvalidArgument(f"image config of {desc.size} bytes is larger than {MAX_CONFIG_SIZE}")
    sink = _BytesSink(desc.size)
    await client.fetch_blob(path, desc, sink)
    data = bytes(sink.data)
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != desc.digest or len(data) != desc.size:
        raise InvalidArgument(f"image config verification failed: digest {desc.digest} expected, got {actual}")
    return data


def _check_platform(config: dict, platform) -> None:
    wanted = platform or manifests.host_platform()
    os_ = config.get("os") or "linux"
    arch = config.get("architecture") or wanted.architecture
    if os_ != wanted.os or arch != wanted.architecture:
        raise InvalidArgument(f"image with reference was found but does not match the specified platform: "
                              f"wanted {wanted}, actual: {os_}/{arch}")


async def _pull_layers(stores, client, source: str, layers, diff_ids, chain_ids, progress) -> None:
    path = source.split("/", 1)[1]
    for desc, chain_id in zip(layers, chain_ids):
        if stores.layers.get(chain_id) is not None:
            progress.layer(short_id(desc.digest), "Already exists")
        else:
            progress.layer(short_id(desc.digest), "Pulling fs layer")
    semaphore = asyncio.Semaphore(CONCURRENT_DOWNLOADS)
    downloads: dict[str, asyncio.Task] = {}
    leased = set()
    # Until the image names them, these layers belong to no image: an `rmi` elsewhere must not
    # collect them meanwhile.
    layer_leases = [chain_id for chain_id in chain_ids]
    stores.layer_leases.extend(layer_leases)
    try:
        for desc, diff_id, chain_id in zip(layers, diff_ids, chain_ids):
            if stores.layers.get(chain_id) is None and desc.digest not in downloads:
                stores.blobs.leases.add(desc.digest)
                leased.add(desc.digest)
                downloads[desc.digest] = asyncio.create_task(
                    _download(stores, client, path, desc, semaphore, progress))
        parent = None
        for desc, diff_id, chain_id in zip(layers, diff_ids, chain_ids):
            if stores.layers.get(chain_id) is None:
                await downloads[desc.digest]
                await asyncio.to_thread(_unpack, stores, desc, diff_id, parent, progress)
                progress.layer(short_id(desc.digest), "Pull complete")
            stores.blobs.record(desc.digest, diff_id, desc.media_type, desc.size, source)
            parent = chain_id
    finally:
        for task in downloads.values():
            task.cancel()
        await asyncio.gather(*downloads.values(), return_exceptions=True)
        stores.blobs.leases.difference_update(leased)
        for chain_id in layer_leases:
            stores.layer_leases.remove(chain_id)


async def _download(stores, client, path: str, desc, semaphore, progress) -> None:
    lid = short_id(desc.digest)
    if stores.content.exists(desc.digest):
        progress.layer(lid, "Download complete")
        return
    if semaphore.locked():
        progress.layer(lid, "Waiting")
    async with semaphore:
        # In a thread: it waits for another pull fetching the same blob, and re-hashes what an
        # interrupted pull left to resume from.
        writer = await asyncio.to_thread(stores.content.writer, desc.digest, desc.digest, desc.size, wait=True)
        if stores.content.exists(desc.digest):      # the other pull got it
            writer.abort()
            progress.layer(lid, "Download complete")
            return
        try:
            sink = _ProgressSink(writer, lambda n: progress.bytes(lid, "Downloading", n, desc.size))
            await client.fetch_blob(path, desc, sink)
            progress.layer(lid, "Verifying Checksum")
            await asyncio.to_thread(writer.commit)
        except BaseException:
            # A verified prefix stays in the ingest for the next pull to resume; a blob that
            # failed verification is discarded by commit() itself.
            writer.close()
            raise
    progress.layer(lid, "Download complete")


def _unpack(stores, desc, diff_id: str, parent: str | None, progress) -> None:
    lid = short_id(desc.digest)
    raw = stores.content.open(desc.digest)
    counted = CountingReader(raw, lambda n: progress.bytes(lid, "Extracting", n, desc.size))
    with ReadAhead(compression.open_decompressed(counted, desc.media_type)) as stream:
        stores.layers.apply_tar(stream, parent, expected_diff_id=diff_id)


async def distribution_inspect(client, ref: reference.Reference) -> dict:
    """GET /distribution/{name}/json: the descriptor the reference resolves to, and its platforms."""
    _, path = reference.split_domain(ref.repository)
    media_type, body, digest = await client.get_manifest(path, ref.digest or ref.tag or "latest", ACCEPT)
    media_type = manifests.detect_media_type(body, media_type)
    platforms = []
    if media_type in (manifests.DOCKER_MANIFEST_LIST, manifests.OCI_INDEX):
        for d in manifests.parse_index(media_type, body).manifests:
            if d.platform:
                platforms.append(d.platform.to_json())
    else:
        manifest = manifests.parse_manifest(media_type, body)
        config = json.loads(await _fetch_config(client, path, manifest.config))
        platforms.append({"architecture": config.get("architecture", ""), "os": config.get("os", "")})
    return {"Descriptor": {"mediaType": media_type, "digest": digest, "size": len(body)},
            "Platforms": platforms}

