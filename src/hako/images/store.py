"""Local images: configs, tags and the layers under them.

An image is its config (Docker/OCI image config JSON); its id is the sha256 of those exact bytes.
Its layers live in the snapshot store, addressed by chain id; the image keeps the chain id of its
top layer. Tags map a familiar reference (``busybox:latest``) to an image id.

The store keeps everything in memory and writes through to the metadata database, which is
given by the daemon (anything with the methods of ``ImageRecords``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import time
from dataclasses import dataclass, field
from typing import Protocol

from ..errdefs import Conflict, InvalidArgument, NotFound
from . import reference


class ImageRecords(Protocol):
    def save_image(self, image_id: str, config: bytes, top: str | None, created: float) -> None: ...
    def delete_image(self, image_id: str) -> None: ...
    def images(self) -> list[tuple[str, str, str | None, float]]: ...
    def set_tag(self, ref: str, image_id: str) -> None: ...
    def delete_tag(self, ref: str) -> None: ...
    def tags(self) -> list[tuple[str, str]]: ...
    def set_repo_digest(self, ref: str, image_id: str) -> None: ...
    def repo_digests(self) -> list[tuple[str, str]]: ...
    def delete_repo_digest(self, ref: str) -> None: ...


@dataclass
class Image:
    id: str                     # sha256:<hex>
    config_bytes: bytes
    top: str | None             # chain id of the top layer
    loaded: float               # when it landed here
    repo_tags: list[str] = field(default_factory=list)
    size: int = 0
    repo_digests: list[str] = field(default_factory=list)    # repo@sha256:<manifest digest>

    @property
    def config(self) -> dict:
        return json.loads(self.config_bytes)

    @property
    def run_config(self) -> dict:
        return self.config.get("config") or {}

    @property
    def created(self) -> str:
        return self.config.get("created") or ""


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


class ImageStore:
    def __init__(self, records: ImageRecords, layers):
        self.records = records
        self.layers = layers      # hako.snapshots LayerStore
        self.images: dict[str, Image] = {}
        for image_id, config, top, loaded in records.images():
            self.images[image_id] = Image(image_id, config.encode(), top, loaded, size=self._size(top))
        for ref, image_id in records.tags():
            if image_id in self.images:
                self.images[image_id].repo_tags.append(ref)
        for ref, image_id in records.repo_digests():
            if image_id in self.images:
                self.images[image_id].repo_digests.append(ref)

    def _size(self, chain_id: str | None) -> int:
        total = 0
        while chain_id:
            layer = self.layers.get(chain_id)
            if layer is None:
                break
            total += layer.size
            chain_id = layer.parent
        return total

    # lookup
    def get(self, name: str) -> Image:
        """By tag, full or short id; NotFound("No such image: …") as Docker says it."""
        image = self.find(name)
        if image is None:
            raise NotFound(f"No such image: {name}")
        return image

    def find(self, name: str) -> Image | None:
        if not name:
            return None
        if name.startswith("sha256:") and name in self.images:
            return self.images[name]
        try:
            ref = str(reference.parse(name))
        except InvalidArgument:
            ref = None
        if ref:
            for image in self.images.values():
                if ref in image.repo_tags or ref in image.repo_digests:
                    return image
        if reference.ID_PREFIX.match(name):
            hex_prefix = name.removeprefix("sha256:")
            matches = [i for i in self.images.values() if i.id[7:].startswith(hex_prefix)]
            if len(matches) == 1:
                return matches[0]
        return None

    def list(self) -> list[Image]:
        return sorted(self.images.values(), key=lambda i: i.created, reverse=True)

    # creation
    def add(self, config: dict, top: str | None, tag: str | None = None) -> Image:
        """Store an image config whose layers are already in the layer store; tag it if asked."""
        return self.add_config_bytes(json.dumps(config, separators=(",", ":")).encode(), top, tag)

    def add_config_bytes(self, config_bytes: bytes, top: str | None, tag: str | None = None) -> Image:
        """As add(), for a config as it came from a registry or an archive: its exact bytes are
        what the image id hashes."""
        image_id = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        image = self.images.get(image_id)
        if image is None:
            loaded = time.time()
            self.records.save_image(image_id, config_bytes, top, loaded)
            image = self.images[image_id] = Image(image_id, config_bytes, top, loaded, size=self._size(top))
        if tag:
            self.tag(image, tag)
        return image

    def new_config(self, diff_ids: list[str], run_config: dict, comment: str = "",
                   created_by: str = "") -> dict:
        created = now_rfc3339()
        history = {"created": created}
        if created_by:
            history["created_by"] = created_by
        if comment:
            history["comment"] = comment
        return {
            "architecture": go_arch(),
            "config": run_config,
            "created": created,
            "history": [history],
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }

    # tags
    def tag(self, image: Image, name: str) -> str:
        ref = reference.parse(name)
        if ref.digest:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        tag = str(ref)
        for other in self.images.values():
            if tag in other.repo_tags and other is not image:
                other.repo_tags.remove(tag)
        self.records.set_tag(tag, image.id)
        if tag not in image.repo_tags:
            image.repo_tags.append(tag)
        return tag

    def add_repo_digest(self, image: Image, repository: str, manifest_digest: str) -> str:
        """Record that ``repository`` serves ``image`` as the manifest ``manifest_digest``."""
        ref = f"{repository}@{manifest_digest}"
        for other in self.images.values():
            if other is not image and ref in other.repo_digests:
                other.repo_digests.remove(ref)
        self.records.set_repo_digest(ref, image.id)
        if ref not in image.repo_digests:
            image.repo_digests.append(ref)
        return ref

    # removal
    def remove(self, name: str, force: bool, users: dict[str, list[tuple[str, bool]]]) -> list[dict]:
        """`docker rmi`: untag when named by one of several tags, else delete the image.

        ``users`` maps image ids to the containers using them, as (container id, running).
        Returns Docker's list of {"Untagged": …} and {"Deleted": …}.
        """
        image = self.get(name)
        short = image.id[7:19]
        try:
            parsed = str(reference.parse(name))
        except InvalidArgument:
            parsed = None
        by_tag = parsed if parsed in image.repo_tags else None
        by_digest = parsed if parsed in image.repo_digests else None
        if by_tag and len(image.repo_tags) > 1:
            self._untag(image, by_tag)
            return [{"Untagged": by_tag}] + self._untag_orphan_digests(image, by_tag.rsplit(":", 1)[0])
        if by_digest and (image.repo_tags or len(image.repo_digests) > 1):
            self.records.delete_repo_digest(by_digest)
            image.repo_digests.remove(by_digest)
            return [{"Untagged": by_digest}]
        by_tag = by_tag or by_digest
        using = users.get(image.id, [])
        running = [cid for cid, is_running in using if is_running]
        if by_tag is None and len(image.repo_tags) > 1 and not force:
            raise Conflict(f"conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories")
        if by_tag and using and (running or not force):
            raise Conflict(f"conflict: unable to remove repository reference \"{name}\" (must force) - "
                           f"container {using[0][0][:12]} is using its referenced image {short}")
        if by_tag is None and running:
            raise Conflict(f"conflict: unable to delete {short} (cannot be forced) - image is being used by running container {running[0][:12]}")
        if by_tag is None and using and not force:
            raise Conflict(f"conflict: unable to delete {short} (must be forced) - image is being used by stopped container {using[0][0][:12]}")
        result: list[dict] = []
        for tag in list(image.repo_tags):
            self._untag(image, tag)
            result.append({"Untagged": tag})
        for ref in image.repo_digests:
            result.append({"Untagged": ref})
        # Forced while only stopped containers use it: deleted as dockerd does; their snapshots
        # keep the layers they stand on.
        self.records.delete_image(image.id)
        del self.images[image.id]
        result.append({"Deleted": image.id})
        return result

    def _untag_orphan_digests(self, image: Image, repository: str) -> list[dict]:
        """As dockerd: once the last tag of a repository is gone from an image, its digest
        references in that repository go too."""
        if any(t.rsplit(":", 1)[0] == repository for t in image.repo_tags):
            return []
        removed = []
        for ref in [r for r in image.repo_digests if r.split("@")[0] == repository]:
            self.records.delete_repo_digest(ref)
            image.repo_digests.remove(ref)
            removed.append({"Untagged": ref})
        return removed

    def _untag(self, image: Image, tag: str) -> None:
        self.records.delete_tag(tag)
        image.repo_tags.remove(tag)

    def collect_layers(self, keep: set[str] = frozenset()) -> list[str]:
        """Remove layers no image references (``keep`` adds the parents of containers' snapshots)."""
        referenced = set()
        for chain_id in [i.top for i in self.images.values()] + list(keep):
            while chain_id and chain_id not in referenced:
                referenced.add(chain_id)
                layer = self.layers.get(chain_id)
                chain_id = layer.parent if layer else None
        removed = []
        for layer in sorted(self.layers.layers(), key=lambda l: -self._depth(l)):
            if layer.chain_id not in referenced:
                self.layers.remove(layer.chain_id)
                removed.append(layer.chain_id)
        return removed

    def _depth(self, layer) -> int:
        depth = 0
        while layer is not None and layer.parent:
            depth += 1
            layer = self.layers.get(layer.parent)
        return depth

    def history(self, image: Image) -> list[dict]:
        """`docker history`: newest first, a layer's id on the entry that made it."""
        config = image.config
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        diff_count = len(diff_ids)
        entries = config.get("history") or [{"created": config.get("created", "")}]
        out = []
        layer_index = 0
        chain = None
        for entry in entries:
            empty = entry.get("empty_layer", False)
            size = 0
            if not empty and layer_index < diff_count:
                # each layer's own size, as docker history shows it (builds make many layers)
                from ..snapshots.model import chain_id as make_chain_id

                chain = make_chain_id(chain, diff_ids[layer_index])
                layer = self.layers.get(chain)
                size = layer.size if layer is not None else 0
                layer_index += 1
            out.append({"Created": entry.get("created", ""), "CreatedBy": entry.get("created_by", ""),
                        "Comment": entry.get("comment", ""), "Size": size, "Tags": None, "Id": "<missing>"})
        out.reverse()
        if out:
            out[0]["Id"] = image.id
            out[0]["Tags"] = list(image.repo_tags) or None
            out[0]["Size"] = image.size if len(out) == 1 else out[0]["Size"]
        return out
