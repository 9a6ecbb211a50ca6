"""Images in and out of this host: pull, push, login, save and load, wired to the engine's stores
and events. The protocols and formats live in hako.images; this is where they meet the daemon."""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager

from ..errdefs import InvalidArgument, NotFound, Unauthorized
from ..images import reference
from ..images.progress import NoProgress, Progress
from ..images.layerblobs import LAYER_TAR
from ..images.readers import TeeReader


class Distribution:
    def __init__(self, engine):
        self.engine = engine
        from ..images.pull import ImageStores

        self.stores = ImageStores(engine.content, engine.layers, engine.images, engine.layer_blobs)
        self._registry_config = None

    def registry_config(self):
        """One for the daemon's life: it also remembers which hosts answer plain HTTP only."""
        if self._registry_config is None:
            from ..images.registry.hosts import RegistryConfig

            self._registry_config = RegistryConfig(insecure_registries=list(self.engine.config.insecure_registries),
                                                   mirrors=list(self.engine.config.registry_mirrors))
            if os.environ.get("HAKO_DOCKER_HUB_URL"):
                self._registry_config.hub_url = os.environ["HAKO_DOCKER_HUB_URL"]
        return self._registry_config

    @asynccontextmanager
    async def client(self, repository: str, credentials):
        from ..images.registry.client import RegistryClient

        domain, _ = reference.split_domain(repository)
        client = RegistryClient(domain, self.registry_config(), credentials)
        try:
            yield client
        finally:
            await client.close()

    async def pull(self, name: str, platform: str | None, credentials, progress: Progress = NoProgress()):
        """Pull ``name`` (a reference); returns the PullResult."""
        from ..images import manifests
        from ..images.pull import pull

        ref = reference.parse(name)
        wanted = manifests.Platform.parse(platform) if platform else None
        try:
            async with self.client(ref.repository, credentials) as client:
                result = await pull(self.stores, client, ref, wanted, progress)
        except NotFound as exc:
            if not {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"} & set(getattr(exc, "codes", ())):
                raise
            raise NotFound(f"manifest for {ref} not found: {exc}") from None
        except Unauthorized as exc:
            # dockerd's wording and a 404, not a 401: the docker CLI answers a 401 by prompting
            # for a login, which hangs scripts.
            raise NotFound(f"pull access denied for {ref.repository}, repository does not exist or "
                           f"may require 'docker login': {exc}") from None
        self.engine.events.emit("image", "pull", str(ref), name=str(ref))
        return result

    async def pull_all_tags(self, repository: str, platform: str | None, credentials, progress: Progress):
        ref = reference.parse(repository)
        _, path = reference.split_domain(ref.repository)
        async with self.client(ref.repository, credentials) as client:
            tags = await client.list_tags(path)
        for tag in tags:
            await self.pull(f"{ref.repository}:{tag}", platform, credentials, progress)

    async def push(self, name: str, tag: str | None, credentials, progress: Progress = NoProgress()) -> None:
        """`docker push name[:tag]`; every local tag of the repository when neither gives one."""
        from ..images.push import push

        ref = reference.parse(name, default_tag=False)
        if ref.digest:
            raise InvalidArgument("cannot push a digest reference")
        tags = [tag or ref.tag] if (tag or ref.tag) else [
            t.rsplit(":", 1)[1] for image in self.engine.images.list() for t in image.repo_tags
            if t.rsplit(":", 1)[0] == ref.repository]
        if not tags:
            raise InvalidArgument(f"An image does not exist locally with the tag: {ref.repository}")
        progress.status(f"The push refers to repository [{reference.full_name(ref.repository)}]")
        async with self.client(ref.repository, credentials) as client:
            for one in tags:
                target = reference.Reference(ref.repository, one, None)
                image = self.engine.images.find(str(target))
                if image is None:
                    raise InvalidArgument(f"tag does not exist: {target}")
                await push(self.stores, client, image, target, progress)
                self.engine.events.emit("image", "push", str(target), name=str(target))

    async def login(self, credentials, server: str) -> str:
        """POST /auth: check the credentials against the registry; returns an identity token or ""."""
        from ..images.registry.client import RegistryClient

        domain = _registry_domain(server)
        client = RegistryClient(domain, self.registry_config(), credentials)
        try:
            return await client.login()
        finally:
            await client.close()

    async def distribution_inspect(self, name: str, credentials) -> dict:
        from ..images.pull import distribution_inspect

        ref = reference.parse(name)
        async with self.client(ref.repository, credentials) as client:
            return await distribution_inspect(client, ref)

    # archives
    async def save(self, names: list[str], out) -> None:
        """`docker save`: the images named, as one archive written to ``out``."""
        from ..images.archive import SaveImage, SaveLayer, write_archive

        chosen: dict[str, SaveImage] = {}
        for name in names:
            image = self.engine.images.get(name)
            entry = chosen.get(image.id)
            if entry is None:
                layers = []
                for diff_id in image.config.get("rootfs", {}).get("diff_ids") or []:
                    blob = self.engine.layer_blobs.find(diff_id, compressed=False)
                    size = blob.size if blob is not None and blob.digest == diff_id else None
                    layers.append(SaveLayer(diff_id=diff_id, size=size,
                                            open=lambda d=diff_id: self.engine.layer_blobs.open_uncompressed(d)))
                entry = chosen[image.id] = SaveImage(config=image.config_bytes, repo_tags=[], layers=layers)
            entry.repo_tags.extend(self._tags_named(image, name))
        await asyncio.to_thread(write_archive, out, list(chosen.values()))
        for image_id in chosen:
            self.engine.events.emit("image", "save", image_id, name=image_id)

    def _tags_named(self, image, name: str) -> list[str]:
        """The tags a name selects for the archive: a tag itself, every tag of a bare repository
        name, none for an id."""
        if image.id.startswith(name) or image.id[7:].startswith(name):
            return []
        try:
            ref = reference.parse(name, default_tag=False)
        except InvalidArgument:
            return []
        if ref.tag:
            return [str(ref)]
        return [t for t in image.repo_tags if t.rsplit(":", 1)[0] == ref.repository] or []

    async def load(self, path: str, progress: Progress) -> list[str]:
        """`docker load` from an archive file; returns what was loaded. Layers unpack in a
        thread; the image store and the events are touched on the loop only."""
        from ..images.archive import read_archive

        loaded = []
        for item in await asyncio.to_thread(read_archive, path):
            image = await self._load_image(item)
            self.engine.events.emit("image", "load", image.id, name=image.id)
            if not item.repo_tags:
                progress.status(f"Loaded image ID: {image.id}")
                loaded.append(image.id)
            for tag in item.repo_tags:
                previous = self.engine.images.find(tag)
                if previous is not None and previous.id != image.id:
                    progress.status(f"The image {tag} already exists, renaming the old one with ID "
                                    f"{previous.id} to empty string")
                self.engine.images.tag(image, tag)
                progress.status(f"Loaded image: {tag}")
                loaded.append(tag)
        return loaded

    async def _load_image(self, item):
        parent = None
        mine: list[str] = []      # unpacked but named by no image yet: leased against collection
        try:
            for layer in item.layers:
                applied, kept = await asyncio.to_thread(self._load_layer, layer, parent)
                self.stores.layer_leases.append(applied.chain_id)
                mine.append(applied.chain_id)
                if kept is not None:
                    self.engine.layer_blobs.record(applied.diff_id, applied.diff_id, LAYER_TAR, kept)
                parent = applied.chain_id
            return self.engine.images.add_config_bytes(item.config, parent)
        finally:
            for chain_id in mine:
                self.stores.layer_leases.remove(chain_id)

    def _load_layer(self, layer, parent):
        """Unpack one layer of an archive, keeping its tar as the layer's blob on the way: the
        Layer, and the size of the blob kept (None when one was there already). Blocking."""
        diff_id = layer.diff_id_expected
        keep = self.engine.layer_blobs.find(diff_id, compressed=False) is None
        writer = self.engine.content.writer(f"load-{diff_id}", diff_id, wait=True) if keep else None
        try:
            with layer.open() as raw:
                stream = TeeReader(raw, writer) if writer else raw
                applied = self.engine.layers.apply_tar(stream, parent, expected_diff_id=diff_id)
            if writer:
                writer.commit()
        except BaseException:
            if writer:
                writer.abort()
            raise
        return applied, (self.engine.content.size(diff_id) if writer else None)


def _registry_domain(server: str) -> str:
    """The registry a login names: `localhost:5000`, `https://x.example/v2/`, or Docker Hub's index
    address for none."""
    server = server.strip()
    if not server or "index.docker.io" in server or server in ("docker.io", "registry-1.docker.io"):
        return "docker.io"
    for prefix in ("https://", "http://"):
        if server.startswith(prefix):
            server = server[len(prefix):]
    return server.split("/", 1)[0]

