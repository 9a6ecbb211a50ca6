"""`docker save` and `docker load` archives: the docker-archive format and the OCI image layout.

Writing produces what Docker 25+ writes, an OCI image layout that is also a docker-archive:

    oci-layout                    {"imageLayoutVersion": "1.0.0"}
    index.json                    one OCI manifest descriptor per tag (or per untagged image),
                                  annotated with io.containerd.image.name and …image.ref.name
    manifest.json                 [{"Config": "blobs/sha256/<config>", "RepoTags": [...],
                                    "Layers": ["blobs/sha256/<diff id>", ...]}]
    repositories                  the legacy {"repo": {"tag": "<top layer>"}}
    blobs/sha256/<hex>            configs, manifests and uncompressed layers, each once

    write_archive(out, [SaveImage(config_bytes, ["busybox:latest"], [SaveLayer(diff_id, opener, size)])])

Reading accepts docker-archives (manifest.json naming legacy ``<id>/layer.tar`` files or blobs),
OCI image layouts (index.json, nested indexes resolved for this host's platform) and the combined
form, compressed as a whole or not (docker load takes ``docker save | gzip``):

    for image in read_archive("/tmp/upload.tar"):
        image.config, image.image_id, image.repo_tags
        for layer in image.layers:
            with layer.open() as tar: …        # uncompressed, whatever the blob's compression

An archive is untrusted. Nothing is extracted: blobs are read in place from the tar (tar member
offsets, pread), so the only paths that matter are the names manifest.json and index.json give,
and those must be plain relative names (no ``..``, not absolute). A symbolic or hard link in the
archive is followed only inside the archive's own name space, which is how Docker before 25
stored a layer shared by two saved images. Configs and manifests must hash to the digest that
names them; layer content is checked by the caller, which knows each layer's diff id
(LayerStore.apply_tar(expected_diff_id=…)). Every problem is InvalidArgument("invalid archive: …").
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import tarfile
import tempfile
import weakref
from dataclasses import dataclass
from typing import BinaryIO, Callable

from ..errdefs import InvalidArgument, SystemError, Unsupported
from . import compression, manifests, reference
from .manifests import Descriptor

OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
_CHUNK = 1 << 20
_MAX_JSON = 64 << 20          # manifest.json, index.json, configs, manifests: far above real ones
_MAX_LINK_HOPS = 16
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ---- values ------------------------------------------------------------------------------------

@dataclass
class SaveLayer:
    diff_id: str
    open: Callable[[], BinaryIO]          # the UNCOMPRESSED layer tar
    size: int | None = None               # None: spooled once to learn it


@dataclass
class SaveImage:
    config: bytes
    repo_tags: list[str]
    layers: list[SaveLayer]


@dataclass
class LoadLayer:
    diff_id_expected: str                 # from the image config; the caller verifies it
    open: Callable[[], BinaryIO]          # the UNCOMPRESSED layer tar
    size: int = 0                         # of the blob as stored in the archive
    media_type: str = ""
    path: str = ""                        # its name in the archive, for messages


@dataclass
class LoadImage:
    config: bytes
    image_id: str                         # sha256 of config
    repo_tags: list[str]                  # familiar references: "busybox:latest"
    layers: list[LoadLayer]
    manifest_digest: str | None = None    # when the archive had a manifest for it (OCI layout)


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(f"invalid archive: {message}")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ==== writing ========================================================================================

@dataclass
class _Blob:
    name: str
    size: int
    data: bytes | None = None
    layer: SaveLayer | None = None
    spool: BinaryIO | None = None


def write_archive(out: BinaryIO, images: list[SaveImage], spool_dir: str | None = None) -> None:
    """Stream a `docker save` archive of ``images`` to ``out`` (blocking).

    Layers are read once each, after the small files; a layer whose size is not given is first
    spooled to a temporary file in ``spool_dir``. A layer whose bytes do not hash to its diff id
    aborts the stream with SystemError: the archive would be broken.
    """
    blobs: dict[str, _Blob] = {}
    index_entries: list[Descriptor] = []
    docker_manifest: list[dict] = []
    repositories: dict[str, dict[str, str]] = {}
    try:
        for image in _merge_saves(images):
            _plan_image(image, blobs, index_entries, docker_manifest, repositories, spool_dir)
        writer = _TarWriter(out)
        writer.add_file("oci-layout", OCI_LAYOUT)
        writer.add_file("index.json", manifests.build_index(index_entries))
        writer.add_file("manifest.json", json.dumps(docker_manifest, separators=(",", ":")).encode())
        if repositories:
            writer.add_file("repositories", json.dumps(repositories, separators=(",", ":")).encode())
        writer.add_dir("blobs")
        writer.add_dir("blobs/sha256")
        for digest, blob in blobs.items():
            if blob.data is not None:
                writer.add_file(blob.name, blob.data)
            elif blob.spool is not None:
                blob.spool.seek(0)
                writer.add_stream(blob.name, blob.size, blob.spool, digest)
            else:
                with blob.layer.open() as stream:
                    writer.add_stream(blob.name, blob.size, stream, digest)
        writer.finish()
    finally:
        for blob in blobs.values():
            if blob.spool is not None:
                blob.spool.close()


def _merge_saves(images: list[SaveImage]) -> list[SaveImage]:
    """One entry per image, as Docker writes `docker save a:1 b:1` when both name one image."""
    merged: dict[bytes, SaveImage] = {}
    for image in images:
        first = merged.get(image.config)
        if first is None:
            merged[image.config] = SaveImage(image.config, list(image.repo_tags), image.layers)
        else:
            first.repo_tags += [t for t in image.repo_tags if t not in first.repo_tags]
    return list(merged.values())


def _plan_image(image: SaveImage, blobs: dict[str, _Blob], index_entries: list[Descriptor],
                docker_manifest: list[dict], repositories: dict, spool_dir: str | None) -> None:
    config_digest = _sha256(image.config)
    try:
        config = json.loads(image.config)
        diff_ids = config["rootfs"]["diff_ids"] or []
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"image {config_digest}: config has no rootfs.diff_ids") from exc
    if list(diff_ids) != [layer.diff_id for layer in image.layers]:
        raise InvalidArgument(f"image {config_digest}: layers given do not match the config's diff ids")
    config_desc = Descriptor(manifests.OCI_CONFIG, config_digest, len(image.config))
    blobs.setdefault(config_digest, _Blob(_blob_name(config_digest), len(image.config), data=image.config))
    layer_descs = []
    for layer in image.layers:
        blob = blobs.get(layer.diff_id)
        if blob is None:
            blob = blobs[layer.diff_id] = _layer_blob(layer, spool_dir)
        layer_descs.append(Descriptor(compression.OCI_LAYER, layer.diff_id, blob.size))
    manifest = manifests.build_manifest(config_desc, layer_descs, manifests.OCI_MANIFEST)
    manifest_digest = _sha256(manifest)
    blobs.setdefault(manifest_digest, _Blob(_blob_name(manifest_digest), len(manifest), data=manifest))

    tags = []
    for name in image.repo_tags:
        ref = reference.parse(name)
        if ref.digest or not ref.tag:
            continue            # `docker save repo@digest` names the image but gives no tag
        tags.append(ref)
    for ref in tags:
        index_entries.append(Descriptor(manifests.OCI_MANIFEST, manifest_digest, len(manifest), annotations={
            manifests.ANNOTATION_IMAGE_NAME: f"{reference.full_name(ref.repository)}:{ref.tag}",
            manifests.ANNOTATION_REF_NAME: ref.tag}))
        if diff_ids:
            repositories.setdefault(ref.repository, {})[ref.tag] = diff_ids[-1].removeprefix("sha256:")
    if not tags:
        index_entries.append(Descriptor(manifests.OCI_MANIFEST, manifest_digest, len(manifest)))
    docker_manifest.append({"Config": _blob_name(config_digest), "RepoTags": [str(r) for r in tags],
                            "Layers": [_blob_name(d) for d in diff_ids]})


def _layer_blob(layer: SaveLayer, spool_dir: str | None) -> _Blob:
    if layer.size is not None:
        return _Blob(_blob_name(layer.diff_id), layer.size, layer=layer)
    spool = tempfile.TemporaryFile(dir=spool_dir)
    try:
        sha = hashlib.sha256()
        size = 0
        with layer.open() as stream:
            while chunk := stream.read(_CHUNK):
                sha.update(chunk)
                spool.write(chunk)
                size += len(chunk)
        if "sha256:" + sha.hexdigest() != layer.diff_id:
            raise SystemError(f"layer {layer.diff_id}: its content hashes to sha256:{sha.hexdigest()}")
    except BaseException:
        spool.close()
        raise
    return _Blob(_blob_name(layer.diff_id), size, spool=spool)


def _blob_name(digest: str) -> str:
    algorithm, _, hex_digest = digest.partition(":")
    return f"blobs/{algorithm}/{hex_digest}"


class _TarWriter:
    """A tar stream written header by header: root-owned entries, mtime 0, so the same images
    always give the same bytes."""

    def __init__(self, out: BinaryIO):
        self.out = out

    def _header(self, name: str, size: int, kind: bytes, mode: int) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.type, info.mode, info.mtime = size, kind, mode, 0
        self.out.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def add_dir(self, name: str) -> None:
        self._header(name + "/", 0, tarfile.DIRTYPE, 0o755)

    def add_file(self, name: str, data: bytes) -> None:
        self._header(name, len(data), tarfile.REGTYPE, 0o644)
        self.out.write(data)
        self._pad(len(data))

    def add_stream(self, name: str, size: int, stream: BinaryIO, digest: str) -> None:
        self._header(name, size, tarfile.REGTYPE, 0o644)
        sha = hashlib.sha256()
        left = size
        while left:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                raise SystemError(f"layer {digest}: content ended {left} bytes short of its size {size}")
            sha.update(chunk)
            self.out.write(chunk)
            left -= len(chunk)
        if stream.read(1):
            raise SystemError(f"layer {digest}: content is longer than its size {size}")
        if "sha256:" + sha.hexdigest() != digest:
            raise SystemError(f"layer {digest}: its content hashes to sha256:{sha.hexdigest()}")
        self._pad(size)

    def _pad(self, size: int) -> None:
        if size % tarfile.BLOCKSIZE:
            self.out.write(b"\0" * (tarfile.BLOCKSIZE - size % tarfile.BLOCKSIZE))

    def finish(self) -> None:
        self.out.write(b"\0" * (2 * tarfile.BLOCKSIZE))
        if hasattr(self.out, "flush"):
            self.out.flush()


# ==== reading ========================================================================================

class Archive:
    """An opened archive: its images, and the file descriptor their layers are read through.

    The descriptor closes with close() or when the archive and every opener of its layers are
    gone (the layers' ``open`` callables keep it alive)."""

    def __init__(self, images: list[LoadImage], source: "_Source"):
        self.images = images
        self._source = source

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_archive(path: str) -> list[LoadImage]:
    """The images in the archive at ``path`` (see open_archive)."""
    return open_archive(path).images


def open_archive(path: str, spool_dir: str | None = None) -> Archive:
    """Index the archive at ``path`` and read its manifests and configs (blocking).

    A compressed archive is first decompressed to an unnamed temporary file in ``spool_dir``
    (default: beside ``path``)."""
    source = _Source.open(path, spool_dir or os.path.dirname(os.path.abspath(path)))
    try:
        members = _index_members(source)
        reader = _Reader(source, members)
        if "manifest.json" in members:
            images = reader.docker_images()
        elif "index.json" in members:
            images = reader.oci_images()
        else:
            raise _invalid("manifest.json and index.json are both missing")
        return Archive(_merge(images), source)
    except BaseException:
        source.close()
        raise


class _Source:
    """The archive's bytes, read at offsets (os.pread: no shared file position between threads)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._finalizer = weakref.finalize(self, os.close, fd)

    @classmethod
    def open(cls, path: str, spool_dir: str) -> "_Source":
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            kind = compression.detect(os.pread(fd, 6, 0))
        except BaseException:
            os.close(fd)
            raise
        if kind == "none":
            return cls(fd)
        with os.fdopen(fd, "rb") as raw, tempfile.TemporaryFile(dir=spool_dir) as spool:
            stream = compression.open_decompressed(raw)
            while True:
                try:
                    chunk = stream.read(_CHUNK)
                except Exception as exc:        # zlib, lzma, bz2, zstandard errors: the data's fault
                    raise _invalid(f"cannot decompress it ({kind}): {exc}") from exc
                if not chunk:
                    break
                spool.write(chunk)
            spool.flush()
            return cls(os.dup(spool.fileno()))

    def close(self) -> None:
        self._finalizer()

    def pread(self, size: int, offset: int) -> bytes:
        if not self._finalizer.alive:
            raise ValueError("the archive is closed")
        return os.pread(self.fd, size, offset)


class _MemberReader(io.RawIOBase):
    """One tar member's data, read in place."""

    def __init__(self, source: _Source, offset: int, size: int):
        self._source, self._offset, self._left = source, offset, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self._left)
        if not want:
            return 0
        data = self._source.pread(want, self._offset)
        if not data:
            raise _invalid("the archive file is truncated")
        buffer[:len(data)] = data
        self._offset += len(data)
        self._left -= len(data)
        return len(data)


def _index_members(source: _Source) -> dict[str, tarfile.TarInfo]:
    """The archive's members by normalised name (the last of several wins, as tar extracts);
    names that could not be extracted safely are left out, so nothing can refer to them."""
    members: dict[str, tarfile.TarInfo] = {}
    raw = io.BufferedReader(_SeekableSource(source), _CHUNK)
    try:
        with tarfile.open(fileobj=raw, mode="r:", errors="surrogateescape") as tar:
            for member in tar:
                name = _normalize(member.name)
                if name is not None:
                    members[name] = member
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _invalid(f"not a tar archive: {exc}") from exc
    return members


class _SeekableSource(io.RawIOBase):
    """The whole archive as a seekable file for tarfile's index pass."""

    def __init__(self, source: _Source):
        self._source, self._position = source, 0
        self._size = os.fstat(source.fd).st_size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        data = self._source.pread(len(buffer), self._position)
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)


def _normalize(name: str) -> str | None:
    """"./a//b/" → "a/b"; None for names that are absolute or climb out with ".."."""
    if name.startswith("/"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


class _Reader:
    def __init__(self, source: _Source, members: dict[str, tarfile.TarInfo]):
        self.source = source
        self.members = members

    # ---- members -------------------------------------------------------------------------------

    def member(self, name: str, what: str) -> tarfile.TarInfo:
        """The regular file ``name`` names, links followed inside the archive."""
        if not isinstance(name, str):
            raise _invalid(f"{what} path must be a string, not {name!r}")
        normal = _normalize(name)
        if normal is None:
            raise _invalid(f"{what} path {name!r} is not a relative path inside the archive")
        for _ in range(_MAX_LINK_HOPS):
            member = self.members.get(normal)
            if member is None:
                raise _invalid(f"{what} {name} not found")
            if member.issparse():
                raise _invalid(f"{what} {name} is a sparse file")
            if member.isreg():
                return member
            if member.islnk():            # hard link: its target is another member's name
                target = _normalize(member.linkname)
            elif member.issym():
                target = None if member.linkname.startswith("/") else \
                    _normalize(posixpath.normpath(posixpath.join(posixpath.dirname(normal), member.linkname)))
            else:
                raise _invalid(f"{what} {name} is not a regular file")
            if target is None:
                raise _invalid(f"{what} {name} links outside the archive ({member.linkname})")
            normal = target
        raise _invalid(f"{what} {name}: too many levels of links")

    def has_file(self, name: str) -> bool:
        try:
            self.member(name, "file")
            return True
        except InvalidArgument:
            return False

    def read(self, name: str, what: str) -> bytes:
        member = self.member(name, what)
        if member.size > _MAX_JSON:
            raise _invalid(f"{what} {name} is too large ({member.size} bytes)")
        data = self.source.pread(member.size, member.offset_data)
        if len(data) != member.size:
            raise _invalid(f"{what} {name} is truncated")
        return data

    def read_json(self, name: str, what: str):
        data = self.read(name, what)
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _invalid(f"{what} {name} is not valid JSON: {exc}") from exc

    def opener(self, member: tarfile.TarInfo, media_type: str | None) -> Callable[[], BinaryIO]:
        source, offset, size = self.source, member.offset_data, member.size

        def open_layer() -> BinaryIO:
            raw = io.BufferedReader(_MemberReader(source, offset, size), _CHUNK)
            return compression.open_decompressed(raw, media_type)
        return open_layer

    # ---- docker-archive ------------------------------------------------------------------------

    def docker_images(self) -> list[LoadImage]:
        entries = self.read_json("manifest.json", "file")
        if not isinstance(entries, list):
            raise _invalid("manifest.json is not a list")
        images = []
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
                raise _invalid(f"manifest.json entry {position} has no Config")
            layers = entry.get("Layers") or []
            tags = entry.get("RepoTags") or []
            if not isinstance(layers, list) or not isinstance(tags, list) \
                    or not all(isinstance(t, str) for t in tags):
                raise _invalid(f"manifest.json entry {position}: Layers and RepoTags must be lists of strings")
            config_path = entry["Config"]
            config = self.read(config_path, "config")
            _check_config_digest(config, _digest_in_name(config_path), config_path)
            diff_ids = _diff_ids(config, config_path)
            if len(diff_ids) != len(layers):
                raise _invalid(f"config {config_path} lists {len(diff_ids)} layers but manifest.json "
                               f"names {len(layers)}")
            load_layers = []
            for diff_id, layer_path in zip(diff_ids, layers):
                member = self.member(layer_path, "layer")
                load_layers.append(LoadLayer(diff_id, self.opener(member, None), member.size, "", layer_path))
            images.append(LoadImage(config, _sha256(config), [_familiar(t) for t in tags], load_layers))
        return images

    # ---- OCI image layout ------------------------------------------------------------------------

    def oci_images(self) -> list[LoadImage]:
        if self.members.get("oci-layout") is not None:
            layout = self.read_json("oci-layout", "file")
            version = layout.get("imageLayoutVersion") if isinstance(layout, dict) else None
            if not isinstance(version, str) or not version.startswith("1."):
                raise Unsupported(f"unsupported OCI image layout version {version!r}")
        index = manifests.parse_index(manifests.OCI_INDEX, self.read("index.json", "file"))
        images = []
        for entry in index.manifests:
            image = self.oci_image(entry, depth=0)
            if image is None:
                continue
            name = _name_from_annotations(entry.annotations or {})
            if name:
                image.repo_tags.append(name)
            images.append(image)
        if not images:
            raise _invalid("index.json lists no image manifests")
        return images

    def blob(self, descriptor: Descriptor, what: str) -> bytes:
        """A small blob (index, manifest, config), checked against its descriptor."""
        path = _blob_name(descriptor.digest)
        data = self.read(path, what)
        if len(data) != descriptor.size or _sha256(data) != descriptor.digest:
            raise _invalid(f"{what} {path} does not match its descriptor (size {descriptor.size}, "
                           f"digest {descriptor.digest}; it has {len(data)} bytes, digest {_sha256(data)})")
        return data

    def oci_image(self, entry: Descriptor, depth: int) -> LoadImage | None:
        if entry.media_type in manifests.INDEX_TYPES:
            if depth >= 4:
                raise _invalid("indexes nested too deeply")
            nested = manifests.parse_index(entry.media_type, self.blob(entry, "index"))
            chosen = manifests.select_manifest(nested, available=lambda d: self.has_file(_blob_name(d.digest)))
            return self.oci_image(chosen, depth + 1)
        if entry.media_type not in manifests.MANIFEST_TYPES:
            return None            # an artifact (signature, attestation …), not an image
        manifest_bytes = self.blob(entry, "manifest")
        manifest = manifests.parse_manifest(entry.media_type, manifest_bytes)
        if manifest.config.media_type not in manifests.CONFIG_TYPES:
            return None
        config = self.blob(manifest.config, "config")
        diff_ids = _diff_ids(config, _blob_name(manifest.config.digest))
        if len(diff_ids) != len(manifest.layers):
            raise _invalid(f"manifest {entry.digest} has {len(manifest.layers)} layers but its config "
                           f"lists {len(diff_ids)}")
        layers = []
        for diff_id, descriptor in zip(diff_ids, manifest.layers):
            compression.layer_compression(descriptor.media_type)    # Unsupported: foreign, encrypted
            path = _blob_name(descriptor.digest)
            member = self.member(path, "layer")
            if member.size != descriptor.size:
                raise _invalid(f"layer {path} has {member.size} bytes, its manifest says {descriptor.size}")
            layers.append(LoadLayer(diff_id, self.opener(member, descriptor.media_type), member.size,
                                    descriptor.media_type, path))
        return LoadImage(config, _sha256(config), [], layers, entry.digest)


def _digest_in_name(path: str) -> str | None:
    """The digest a config's name claims: legacy ``<hex>.json`` or ``blobs/sha256/<hex>``."""
    normal = _normalize(path) or ""
    base = posixpath.basename(normal)
    if base.endswith(".json") and _HEX64.match(base[:-5]):
        return "sha256:" + base[:-5]
    if normal.startswith("blobs/sha256/") and _HEX64.match(base):
        return "sha256:" + base
    return None


def _check_config_digest(config: bytes, claimed: str | None, path: str) -> None:
    if claimed is not None and _sha256(config) != claimed:
        raise _invalid(f"config {path} does not match its digest: it hashes to {_sha256(config)}")


def _diff_ids(config: bytes, path: str) -> list[str]:
    try:
        doc = json.loads(config)
        diff_ids = (doc.get("rootfs") or {}).get("diff_ids") or []
    except (ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise _invalid(f"config {path} is not an image config: {exc}") from exc
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) and re.match(r"^sha256:[0-9a-f]{64}$", d)
                                                  for d in diff_ids):
        raise _invalid(f"config {path} has invalid rootfs.diff_ids")
    return diff_ids


def _familiar(name: str) -> str:
    try:
        return str(reference.parse(name))
    except InvalidArgument as exc:
        raise _invalid(f"manifest.json: invalid tag {name!r}: {exc}") from exc


def _name_from_annotations(annotations: dict[str, str]) -> str | None:
    """The image's name from an index.json entry: containerd's full name first; else the OCI
    ref name if it is a whole reference ("app:1.0", "localhost/app"), since a bare "latest" names
    no repository (docker load then loads the image untagged)."""
    for key in (manifests.ANNOTATION_IMAGE_NAME, manifests.ANNOTATION_REF_NAME):
        name = annotations.get(key)
        if not name or (key == manifests.ANNOTATION_REF_NAME and ":" not in name and "/" not in name):
            continue
        try:
            ref = reference.parse(name)
        except InvalidArgument:
            continue
        if ref.tag:
            return str(ref)
    return None


def _merge(images: list[LoadImage]) -> list[LoadImage]:
    """One LoadImage per image id, with all its tags."""
    merged: dict[str, LoadImage] = {}
    for image in images:
        first = merged.setdefault(image.image_id, image)
        if first is not image:
            first.repo_tags.extend(image.repo_tags)
            first.manifest_digest = first.manifest_digest or image.manifest_digest
    for image in merged.values():
        image.repo_tags = list(dict.fromkeys(image.repo_tags))
    return list(merged.values())


__all__ = ["Archive", "LoadImage", "LoadLayer", "SaveImage", "SaveLayer", "open_archive",
           "read_archive", "write_archive"]
