"""Test images in OCI layouts (made with ``tests.oci_images``), and skopeo to move them around.

    image = write_oci_layout(tmp_path / "layout", {"amd64": {"hello.txt": b"hi"}})
    skopeo_push(image, "latest", f"{registry.host}/app:1")

skopeo is the independent second party of the registry tests: what it pushes, hako's client must
read, and what hako's client pushes, skopeo must accept (``skopeo inspect`` / ``skopeo copy``).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from tests.oci_images import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, Layout, compress, sha256, tar_of

OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
__all__ = ["OCI_CONFIG", "OCI_INDEX", "OCI_LAYER_GZIP", "OCI_MANIFEST", "LayoutImage", "digest_of", "layer_tar",
           "skopeo", "skopeo_push", "skopeo_raw_manifest", "write_oci_layout"]

digest_of = sha256
layer_tar = tar_of


@dataclass
class LayoutImage:
    path: str
    manifests: dict[str, str] = field(default_factory=dict)    # architecture → manifest digest
    layers: dict[str, tuple[str, bytes]] = field(default_factory=dict)   # architecture → (digest, gzip blob)
    index_digest: str = ""       # the image index's, when written with index=True


def write_oci_layout(path, images: dict[str, dict[str, bytes]], tag: str = "latest",
                     index: bool = False) -> LayoutImage:
    """An OCI layout at ``path`` with one linux image per architecture in ``images`` (each one
    gzip layer of the given files). With ``index=True``, ``tag`` names an image index of them all;
    otherwise ``images`` must hold one architecture and ``tag`` names its manifest."""
    layout = Layout(str(path))
    result = LayoutImage(str(path))
    descriptors = []
    for arch, files in images.items():
        tar = tar_of(files)
        blob = compress(tar, "gzip")
        descriptors.append(layout.image([tar], "gzip", arch))
        result.manifests[arch] = descriptors[-1]["digest"]
        result.layers[arch] = (sha256(blob), blob)
    if index:
        result.index_digest = layout.tag_index(descriptors, tag)
    elif len(descriptors) == 1:
        layout.tag(descriptors[0], tag)
    else:
        raise ValueError("one architecture unless index=True")
    layout.write()
    return result


def skopeo(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run skopeo; ``--insecure-policy`` so no /etc/containers/policy.json is needed."""
    result = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def skopeo_push(layout: LayoutImage, tag: str, dest: str, *extra: str) -> None:
    """Copy ``oci:<layout>:<tag>`` to ``docker://<dest>`` over http(s) without TLS checks."""
    skopeo("copy", "--quiet", "--dest-tls-verify=false", *extra, f"oci:{layout.path}:{tag}", f"docker://{dest}")


def skopeo_raw_manifest(ref: str, *extra: str) -> bytes:
    result = subprocess.run(["skopeo", "--insecure-policy", "inspect", "--raw", "--tls-verify=false", *extra,
                             f"docker://{ref}"], capture_output=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"skopeo inspect --raw {ref} failed: {result.stderr.decode()}")
    return result.stdout
