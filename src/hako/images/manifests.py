"""Image manifests and indexes (Docker schema 2 and OCI), descriptors, and platform selection.

    manifest = parse_manifest(content_type, body)      # Manifest(config, layers, …)
    index = parse_index(content_type, body)            # Index(manifests=[Descriptor(platform=…)])
    kind = detect_media_type(body, content_type)       # when the registry says application/json
    chosen = select_manifest(index, Platform.parse("linux/arm64"))
    body = build_manifest(config_descriptor, layer_descriptors)   # what a push sends

Everything here parses untrusted JSON: a malformed document is InvalidArgument, a well-formed one
hako does not handle (schema 1, an unknown media type) is Unsupported, both with a message that
names the problem.

Platforms follow containerd's platforms package, which Docker uses: names are normalised
(aarch64 → arm64, x86_64 → amd64, armhf → arm/v7 …), and a platform also accepts the ones its
machine runs natively, best first: arm64 → arm64, arm/v8 … arm/v5; arm/v7 → arm/v7 … v5;
amd64 at micro-architecture level vN → amd64/vN … v1, then 386.
"""

from __future__ import annotations

import json
import platform as _platform
import re
from dataclasses import dataclass, field

from ..errdefs import InvalidArgument, NotFound, Unsupported
# Layer media types belong to compression.py (they say how a layer is packed); re-exported so that
# every media type can be found here.
from .compression import (DOCKER_LAYER, DOCKER_LAYER_FOREIGN_GZIP, DOCKER_LAYER_GZIP, DOCKER_LAYER_ZSTD,
                          OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_NONDISTRIBUTABLE, OCI_LAYER_NONDISTRIBUTABLE_GZIP,
                          OCI_LAYER_NONDISTRIBUTABLE_ZSTD, OCI_LAYER_ZSTD, layer_compression)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
CONFIG_TYPES = (DOCKER_CONFIG, OCI_CONFIG)
# What a pull asks for, best first (the Accept header).
ACCEPT = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)

# Annotations Docker and containerd put on descriptors in an OCI layout's index.json.
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"

__all__ = [
    "ACCEPT", "ANNOTATION_IMAGE_NAME", "ANNOTATION_REF_NAME", "CONFIG_TYPES", "DOCKER_CONFIG",
    "DOCKER_LAYER", "DOCKER_LAYER_FOREIGN_GZIP", "DOCKER_LAYER_GZIP", "DOCKER_LAYER_ZSTD", "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST", "DOCKER_MANIFEST_V1", "DOCKER_MANIFEST_V1_SIGNED", "Descriptor", "INDEX_TYPES",
    "Index", "MANIFEST_TYPES", "Manifest", "OCI_CONFIG", "OCI_EMPTY", "OCI_INDEX", "OCI_LAYER", "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE", "OCI_LAYER_NONDISTRIBUTABLE_GZIP", "OCI_LAYER_NONDISTRIBUTABLE_ZSTD",
    "OCI_LAYER_ZSTD", "OCI_MANIFEST", "Platform", "build_index", "build_manifest", "check_image_manifest",
    "compatible_platforms", "detect_media_type", "host_amd64_level", "host_platform", "parse", "parse_index",
    "parse_manifest", "select_manifest",
]

_GENERIC_TYPES = {"", "application/json", "text/plain", "application/octet-stream", "binary/octet-stream"}
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


# ---- values ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "Platform":
        """"linux/arm64/v8", "linux/amd64", "linux", "arm64", as containerd's platforms.Parse."""
        parts = text.strip().split("/") if text else []
        if not parts or len(parts) > 3 or any(not p or not re.match(r"^[A-Za-z0-9_.-]+$", p) for p in parts):
            raise InvalidArgument(f"invalid platform {text!r}: expected os[/arch[/variant]]")
        if len(parts) == 1:
            word = parts[0].lower()
            if _normalize_os(word) in _KNOWN_OS:
                host = host_platform()
                return cls(_normalize_os(word), host.architecture, host.variant)
            arch, variant = _normalize_arch(word, "")
            if arch not in _KNOWN_ARCH:
                raise InvalidArgument(f"invalid platform {text!r}: unknown operating system or architecture")
            return cls("linux", arch, variant)
        os_name = _normalize_os(parts[0])
        arch, variant = _normalize_arch(parts[1], parts[2] if len(parts) == 3 else "")
        if len(parts) == 2 and arch == "arm" and variant == "v7":
            variant = ""                  # "linux/arm" stays as written; arm means v7 anyway
        if len(parts) == 3 and arch == "arm64" and not variant:
            variant = "v8"
        return cls(os_name, arch, variant)

    @classmethod
    def from_json(cls, value) -> "Platform":
        if not isinstance(value, dict):
            raise InvalidArgument("invalid platform in manifest list: not an object")
        os_name, arch = value.get("os", ""), value.get("architecture", "")
        if not isinstance(os_name, str) or not isinstance(arch, str):
            raise InvalidArgument("invalid platform in manifest list: os and architecture must be strings")
        features = value.get("os.features") or ()
        return cls(os_name, arch, str(value.get("variant") or ""), str(value.get("os.version") or ""),
                   tuple(str(f) for f in features) if isinstance(features, list) else ())

    def to_json(self) -> dict:
        out = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out

    def normalized(self) -> "Platform":
        arch, variant = _normalize_arch(self.architecture, self.variant)
        return Platform(_normalize_os(self.os), arch, variant)

    def __str__(self) -> str:
        """containerd's platforms.Format: what Docker's messages show."""
        return "/".join(p for p in (self.os or "unknown", self.architecture or "unknown", self.variant) if p)


@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    urls: list[str] | None = None
    annotations: dict[str, str] | None = None

    @classmethod
    def from_json(cls, value, what: str = "descriptor") -> "Descriptor":
        if not isinstance(value, dict):
            raise InvalidArgument(f"invalid {what}: not an object")
        media_type, digest, size = value.get("mediaType", ""), value.get("digest"), value.get("size")
        if not isinstance(media_type, str):
            raise InvalidArgument(f"invalid {what}: mediaType must be a string")
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise InvalidArgument(f"invalid {what}: invalid digest {digest!r}")
        if not digest.startswith("sha256:"):
            raise Unsupported(f"unsupported digest algorithm: {digest}")
        if not _SHA256.match(digest):
            raise InvalidArgument(f"invalid {what}: invalid digest {digest!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidArgument(f"invalid {what} {digest}: invalid size {size!r}")
        platform = Platform.from_json(value["platform"]) if value.get("platform") is not None else None
        urls = value.get("urls")
        annotations = value.get("annotations")
        if annotations is not None and not (isinstance(annotations, dict)
                                            and all(isinstance(v, str) for v in annotations.values())):
            raise InvalidArgument(f"invalid {what} {digest}: annotations must map strings to strings")
        return cls(media_type, digest, size, platform, list(urls) if isinstance(urls, list) else None,
                   dict(annotations) if annotations else None)

    def to_json(self) -> dict:
        out: dict = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out


@dataclass
class Manifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor]
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class Index:
    media_type: str
    manifests: list[Descriptor]
    annotations: dict[str, str] = field(default_factory=dict)


# ---- parsing -----------------------------------------------------------------------------------

def _load(body: bytes | str) -> dict:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"invalid manifest: not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidArgument("invalid manifest: not a JSON object")
    return doc


def detect_media_type(body: bytes | str, content_type: str | None = None) -> str:
    """The media type of a manifest or index: the document's own ``mediaType`` first, then a
    specific Content-Type, then its shape. Unsupported for schema 1 and unknown types."""
    doc = _load(body)
    return _media_type_of(doc, content_type)


def _media_type_of(doc: dict, content_type: str | None) -> str:
    declared = doc.get("mediaType")
    header = (content_type or "").split(";", 1)[0].strip().lower()
    if doc.get("schemaVersion") == 1 or header in (DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED) \
            or declared in (DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED):
        raise Unsupported("Docker Image Format v1 and Docker Image manifest version 2, schema 1 "
                          "manifests are not supported")
    if declared is not None and not isinstance(declared, str):
        raise InvalidArgument("invalid manifest: mediaType must be a string")
    kind = declared or (header if header not in _GENERIC_TYPES else "")
    if not kind:
        # OCI documents may leave mediaType out; their shape tells them apart.
        if "manifests" in doc:
            kind = OCI_INDEX
        elif "config" in doc and "layers" in doc:
            kind = OCI_MANIFEST
        else:
            raise InvalidArgument("invalid manifest: neither a manifest nor an index")
    if kind not in MANIFEST_TYPES and kind not in INDEX_TYPES:
        raise Unsupported(f"unsupported manifest media type: {kind}")
    if doc.get("schemaVersion") != 2:
        raise InvalidArgument(f"invalid manifest: unsupported schemaVersion {doc.get('schemaVersion')!r}")
    return kind


def parse(content_type: str | None, body: bytes | str) -> Manifest | Index:
    """A manifest or an index, whichever ``body`` is."""
    doc = _load(body)
    kind = _media_type_of(doc, content_type)
    return _index(doc, kind) if kind in INDEX_TYPES else _manifest(doc, kind)


def parse_manifest(media_type: str | None, body: bytes | str) -> Manifest:
    doc = _load(body)
    kind = _media_type_of(doc, media_type)
    if kind in INDEX_TYPES:
        raise InvalidArgument(f"invalid manifest: expected an image manifest, got {kind}")
    return _manifest(doc, kind)


def parse_index(media_type: str | None, body: bytes | str) -> Index:
    doc = _load(body)
    kind = _media_type_of(doc, media_type)
    if kind not in INDEX_TYPES:
        raise InvalidArgument(f"invalid manifest list: expected an index, got {kind}")
    return _index(doc, kind)


def _manifest(doc: dict, kind: str) -> Manifest:
    if "config" not in doc:
        raise InvalidArgument("invalid manifest: no config")
    config = Descriptor.from_json(doc["config"], "manifest config")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise InvalidArgument("invalid manifest: layers must be a list")
    return Manifest(kind, config, [Descriptor.from_json(layer, "manifest layer") for layer in layers],
                    _annotations(doc))


def _index(doc: dict, kind: str) -> Index:
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        raise InvalidArgument("invalid manifest list: manifests must be a list")
    return Index(kind, [Descriptor.from_json(m, "manifest list entry") for m in manifests], _annotations(doc))


def _annotations(doc: dict) -> dict[str, str]:
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise InvalidArgument("invalid manifest: annotations must be an object")
    return {str(k): str(v) for k, v in annotations.items()}


def check_image_manifest(manifest: Manifest) -> None:
    """Unsupported unless ``manifest`` is a container image (not a Helm chart, a signature …)."""
    if manifest.config.media_type not in CONFIG_TYPES:
        raise Unsupported(f"unsupported config media type {manifest.config.media_type or '(none)'}: "
                          "not a container image")
    for layer in manifest.layers:
        layer_compression(layer.media_type)


# ---- building -----------------------------------------------------------------------------------

def build_manifest(config: Descriptor, layers: list[Descriptor], media_type: str = DOCKER_MANIFEST,
                   annotations: dict[str, str] | None = None) -> bytes:
    """The canonical bytes of an image manifest (what a push sends; its digest names it)."""
    if media_type not in MANIFEST_TYPES:
        raise InvalidArgument(f"cannot build a manifest of type {media_type}")
    doc: dict = {"schemaVersion": 2, "mediaType": media_type, "config": _plain(config),
                 "layers": [_plain(layer) for layer in layers]}
    if annotations:
        doc["annotations"] = dict(annotations)
    return json.dumps(doc, indent=3).encode()


def build_index(manifests: list[Descriptor], media_type: str = OCI_INDEX,
                annotations: dict[str, str] | None = None) -> bytes:
    if media_type not in INDEX_TYPES:
        raise InvalidArgument(f"cannot build an index of type {media_type}")
    doc: dict = {"schemaVersion": 2, "mediaType": media_type, "manifests": [m.to_json() for m in manifests]}
    if annotations:
        doc["annotations"] = dict(annotations)
    return json.dumps(doc, separators=(",", ":")).encode()


def _plain(descriptor: Descriptor) -> dict:
    """A descriptor without platform (which belongs in indexes only)."""
    out = descriptor.to_json()
    out.pop("platform", None)
    return out


# ---- platforms ---------------------------------------------------------------------------------

_KNOWN_OS = {"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
             "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos", "wasip1"}
_KNOWN_ARCH = {"386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le",
               "loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc",
               "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm"}


def _normalize_os(name: str) -> str:
    name = name.lower()
    return "darwin" if name == "macos" else name


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's normalizeArch: one spelling per architecture and variant."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        return "arm64", {"8": "", "v8": "", "v8.0": "", "9": "v9", "9.0": "v9", "v9.0": "v9"}.get(variant, variant)
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            return "arm", "v7"
        if variant in ("5", "6", "8"):
            return "arm", "v" + variant
    return arch, variant


def _variant_number(variant: str) -> int | None:
    try:
        return int(variant.removeprefix("v"))
    except ValueError:
        return None


def compatible_platforms(wanted: Platform, amd64_level: int = 1) -> list[Platform]:
    """The normalised platforms ``wanted`` runs, best first (containerd's platformVector).

    ``amd64_level`` is the micro-architecture level to assume for an amd64 without a variant
    (the host's, when the host is amd64).
    """
    base = wanted.normalized()
    vector = [base]
    if base.architecture == "amd64":
        level = _variant_number(base.variant) if base.variant else amd64_level
        if not base.variant and level > 1:
            vector = [Platform(base.os, "amd64", f"v{level}")]
        for lower in range((level or 1) - 1, 0, -1):
            vector.append(Platform(base.os, "amd64", "" if lower == 1 else f"v{lower}"))
        vector.append(Platform(base.os, "386"))
    elif base.architecture == "arm":
        number = _variant_number(base.variant)
        if number is not None:
            vector += [Platform(base.os, "arm", f"v{n}") for n in range(number - 1, 4, -1)]
    elif base.architecture == "arm64":
        vector += compatible_platforms(Platform(base.os, "arm", base.variant or "v8"))
    return vector


def select_manifest(index: Index, wanted: Platform | None = None,
                    available=None) -> Descriptor:
    """The entry of ``index`` for ``wanted`` (default: this host), best match first, the index's
    order among equals; entries without a platform come last, as containerd sorts them.

    ``available`` (a predicate on descriptors) skips entries whose content is absent, as in a
    `docker save` of one platform of a multi-platform image.
    """
    host = host_platform()
    wanted = wanted or host
    level = host_amd64_level() if host.architecture == "amd64" and wanted.architecture == "amd64" else 1
    vector = compatible_platforms(wanted, level)
    ranked = []
    for position, entry in enumerate(index.manifests):
        if entry.media_type not in MANIFEST_TYPES and entry.media_type not in INDEX_TYPES:
            continue        # signatures, attestations and other artifacts
        if entry.platform is None:
            rank = len(vector)
        else:
            have = entry.platform.normalized()
            rank = next((i for i, p in enumerate(vector)
                         if (p.os, p.architecture, p.variant) == (have.os, have.architecture, have.variant)), None)
            if rank is None:
                continue
        if available is not None and not available(entry):
            continue
        ranked.append((rank, position, entry))
    if not ranked:
        raise NotFound(f"no matching manifest for {wanted} in the manifest list entries")
    return min(ranked, key=lambda r: r[:2])[2]


def host_platform() -> Platform:
    """This machine's platform, as Docker reports and pulls it by default."""
    machine = _platform.machine().lower()
    arch, variant = _normalize_arch(machine, "")
    if arch == "arm64":
        variant = "v8"
    elif arch == "arm":
        variant = _arm_variant() or variant
    elif arch == "amd64":
        variant = ""
    return Platform(_normalize_os(_platform.system() or "linux"), arch, variant)


def _arm_variant() -> str:
    """From /proc/cpuinfo's "CPU architecture" as containerd's cpuinfo does (7 → v7)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "CPU architecture":
                    value = value.strip().split()[0] if value.strip() else ""
                    if value.startswith("8") or value.startswith("AArch64"):
                        return "v8"
                    return "v" + value if value.isdigit() else ""
    except OSError:
        pass
    return ""


_LEVEL_FLAGS = {
    2: {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"},
    3: {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
    4: {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


def host_amd64_level(cpuinfo: str | None = None) -> int:
    """The x86-64 micro-architecture level (1–4) this CPU reaches, from its /proc/cpuinfo flags."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return 1
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags = set(value.split())
            break
    level = 1
    for candidate in (2, 3, 4):
        if not _LEVEL_FLAGS[candidate] <= flags:
            break
        level = candidate
    return level

