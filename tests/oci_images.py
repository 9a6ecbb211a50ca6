"""OCI image layouts made by the tests, independently of hako's own image code, so that skopeo can
put them into a registry for hako to pull."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


class Layout:
    """An OCI image layout directory being filled."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self.index: list[dict] = []

    def blob(self, data: bytes) -> str:
        digest = sha256(data)
        with open(os.path.join(self.path, "blobs", "sha256", digest[7:]), "wb") as f:
            f.write(data)
        return digest

    def image(self, layers: list[bytes], compression: str = "gzip", arch: str = "amd64",
              config_extra: dict | None = None) -> dict:
        """Add an image (uncompressed layer tars, bottom first); returns its manifest descriptor."""
        layer_descs, diff_ids = [], []
        for tar in layers:
            blob = compress(tar, compression)
            layer_descs.append({"mediaType": LAYER_TYPES[compression], "digest": self.blob(blob), "size": len(blob)})
            diff_ids.append(sha256(tar))
        config = {"architecture": arch, "os": "linux", "created": "2026-01-01T00:00:00Z",
                  "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "tests"}]}
        config.update(config_extra or {})
        config_bytes = json.dumps(config).encode()
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": self.blob(config_bytes), "size": len(config_bytes)},
                    "layers": layer_descs}
        body = json.dumps(manifest).encode()
        return {"mediaType": OCI_MANIFEST, "digest": self.blob(body), "size": len(body),
                "platform": {"architecture": arch, "os": "linux"}, "config_digest": sha256(config_bytes)}

    def tag(self, desc: dict, name: str) -> None:
        entry = {k: v for k, v in desc.items() if k != "config_digest"}
        entry["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.index.append(entry)

    def tag_index(self, descs: list[dict], name: str) -> str:
        """An image index over several manifests (a multi-platform image), tagged ``name``."""
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                 "manifests": [{k: v for k, v in d.items() if k != "config_digest"} for d in descs]}
        body = json.dumps(index).encode()
        digest = self.blob(body)
        self.index.append({"mediaType": OCI_INDEX, "digest": digest, "size": len(body),
                           "annotations": {"org.opencontainers.image.ref.name": name}})
        return digest

    def write(self) -> None:
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": self.index}, f)


def skopeo_push(layout_path: str, target: str, *extra: str) -> None:
    import subprocess

    result = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", *extra, f"oci:{layout_path}:v1",
                             f"docker://{target}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def push_fresh_image(registry_host: str, workdir: str, base_layer: bytes, name: str) -> str:
    """An image whose top layer is new to everyone (random bytes), pushed by skopeo as
    ``<registry>/<name>:v1``; returns that reference."""
    layout = Layout(os.path.join(workdir, f"fresh-{os.urandom(4).hex()}"))
    layout.tag(layout.image([base_layer, tar_of({"fresh": os.urandom(512 * 1024)})]), "v1")
    layout.write()
    target = f"{registry_host}/{name}:v1"
    skopeo_push(layout.path, target)
    return target
