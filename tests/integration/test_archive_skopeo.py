"""save/load archives against a real implementation of the formats: Debian's skopeo.

What write_archive makes, skopeo reads as a docker-archive, as an OCI archive and copies into an OCI
layout; what skopeo writes (docker-archive and oci-archive, from an OCI layout these tests make with
gzip, zstd and uncompressed layers) read_archive reads, every layer verifying against its diff id.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest
import zstandard

from hako.images import manifests
from hako.images.archive import SaveImage, SaveLayer, read_archive, write_archive
from hako.images.manifests import Descriptor

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
pytestmark = pytest.mark.skipif(not os.path.exists(SKOPEO), reason="skopeo is not installed")


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o755, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_config(layers: list[bytes], cmd: str) -> bytes:
    host = manifests.host_platform()
    return json.dumps({"architecture": host.architecture, "os": "linux", "created": "2024-01-02T03:04:05Z",
                       "config": {"Cmd": [cmd], "Env": ["PATH=/bin"]},
                       "rootfs": {"type": "layers", "diff_ids": [sha(l) for l in layers]}}).encode()


def skopeo(*args: str, tmp_path) -> subprocess.CompletedProcess:
    # --insecure-policy: local files only, and the host's policy.json is none of the tests' business.
    result = subprocess.run([SKOPEO, "--insecure-policy", "--tmpdir", str(tmp_path), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"skopeo {' '.join(args)} failed: {result.stderr}"
    return result


BASE = layer_tar({"bin/tool": os.urandom(200_000), "etc/motd": b"hello\n"})
APP = layer_tar({"app/main": b"print('hi')\n" * 5000})
OTHER = layer_tar({"other/file": b"other"})


def save(layers: list[bytes], tags: list[str], cmd: str) -> SaveImage:
    return SaveImage(image_config(layers, cmd), tags,
                     [SaveLayer(sha(l), (lambda l=l: io.BytesIO(l)), len(l)) for l in layers])


@pytest.fixture
def saved(tmp_path):
    images = [save([BASE, APP], ["app:1.0", "localhost:5000/team/app:latest"], "app"),
              save([BASE, OTHER], ["other:2"], "other")]
    path = tmp_path / "saved.tar"
    with open(path, "wb") as out:
        write_archive(out, images)
    return str(path), images


def test_skopeo_inspects_our_archive_as_a_docker_archive(saved, tmp_path):
    path, images = saved
    for ref, image, layers in ((f"docker-archive:{path}:app:1.0", images[0], [BASE, APP]),
                               (f"docker-archive:{path}:other:2", images[1], [BASE, OTHER])):
        raw = json.loads(skopeo("inspect", "--raw", ref, tmp_path=tmp_path).stdout)
        assert [l["digest"] for l in raw["layers"]] == [sha(l) for l in layers]
        assert raw["config"]["digest"] == sha(image.config)
        config = json.loads(skopeo("inspect", "--config", "--raw", ref, tmp_path=tmp_path).stdout)
        assert config["config"]["Cmd"] == json.loads(image.config)["config"]["Cmd"]


def test_skopeo_inspects_our_archive_as_an_oci_archive_and_layout(saved, tmp_path):
    path, images = saved
    # oci-archive refs select by org.opencontainers.image.ref.name, which Docker sets to the tag.
    info = json.loads(skopeo("inspect", f"oci-archive:{path}:2", tmp_path=tmp_path).stdout)
    assert info["Layers"] == [sha(BASE), sha(OTHER)]
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(path) as tar:
        tar.extractall(layout)          # our own archive, just written
    info = json.loads(skopeo("inspect", f"oci:{layout}:1.0", tmp_path=tmp_path).stdout)
    assert info["Layers"] == [sha(BASE), sha(APP)]
    assert info["Architecture"] == manifests.host_platform().architecture


def test_skopeo_copies_our_archive_to_an_oci_layout(saved, tmp_path):
    path, images = saved
    dest = tmp_path / "copied"
    skopeo("copy", f"docker-archive:{path}:localhost:5000/team/app:latest", f"oci:{dest}:copied", tmp_path=tmp_path)
    index = json.loads((dest / "index.json").read_text())
    [entry] = index["manifests"]
    manifest = json.loads((dest / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    # skopeo rewrites a docker-archive's config into an OCI one: same image, other bytes
    config = json.loads((dest / "blobs" / "sha256" / manifest["config"]["digest"][7:]).read_text())
    original = json.loads(images[0].config)
    assert config["rootfs"] == original["rootfs"] and config["config"]["Cmd"] == original["config"]["Cmd"]
    for layer, expected in zip(manifest["layers"], [BASE, APP]):
        blob = (dest / "blobs" / "sha256" / layer["digest"][7:]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == layer["digest"][7:]
        assert blob == expected or gzip.decompress(blob) == expected
    # and back: skopeo's OCI layout, archived as a tar, is a load we accept
    tarred = tmp_path / "copied.tar"
    with tarfile.open(tarred, "w") as tar:
        tar.add(dest, arcname=".")
    [image] = read_archive(str(tarred))
    assert json.loads(image.config) == config and image.repo_tags == []      # ref.name "copied" is no repository
    assert [layer.open().read() for layer in image.layers] == [BASE, APP]


# ---- archives skopeo writes, from an OCI layout made here ----------------------------------------------

LAYER_KINDS = {
    "gzip": (manifests.OCI_LAYER_GZIP, gzip.compress),
    "zstd": (manifests.OCI_LAYER_ZSTD, lambda data: zstandard.ZstdCompressor().compress(data)),
    "none": (manifests.OCI_LAYER, bytes),
}


def make_oci_layout(root, layers: list[bytes], kinds: list[str], cmd: str, ref_name: str) -> bytes:
    """A one-image OCI layout in ``root``; the image's config."""
    blobs_dir = root / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True)

    def put(data: bytes) -> str:
        (blobs_dir / sha(data)[7:]).write_bytes(data)
        return sha(data)

    config = image_config(layers, cmd)
    descriptors = []
    for layer, kind in zip(layers, kinds):
        media_type, pack = LAYER_KINDS[kind]
        blob = pack(layer)
        descriptors.append(Descriptor(media_type, put(blob), len(blob)))
    manifest = manifests.build_manifest(Descriptor(manifests.OCI_CONFIG, put(config), len(config)), descriptors,
                                        manifests.OCI_MANIFEST)
    put(manifest)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": manifests.OCI_INDEX, "manifests": [
        {"mediaType": manifests.OCI_MANIFEST, "digest": sha(manifest), "size": len(manifest),
         "annotations": {manifests.ANNOTATION_REF_NAME: ref_name}}]}))
    return config


@pytest.mark.parametrize("kinds", [["gzip", "gzip"], ["none", "gzip"]])    # zstd: skopeo refuses it for docker
def test_we_read_a_docker_archive_skopeo_writes(tmp_path, kinds):
    layout = tmp_path / "layout"
    config = make_oci_layout(layout, [BASE, APP], kinds, "app", "v1")
    out = tmp_path / "docker.tar"
    skopeo("copy", f"oci:{layout}:v1", f"docker-archive:{out}:example.com/team/app:v1", tmp_path=tmp_path)
    [image] = read_archive(str(out))
    assert image.repo_tags == ["example.com/team/app:v1"]
    assert image.image_id == sha(image.config)
    assert json.loads(image.config)["rootfs"]["diff_ids"] == json.loads(config)["rootfs"]["diff_ids"]
    for layer, expected in zip(image.layers, [BASE, APP]):
        with layer.open() as stream:
            data = stream.read()
        assert sha(data) == layer.diff_id_expected and data == expected


@pytest.mark.parametrize("kinds", [["gzip", "gzip"], ["zstd", "none"]])
def test_we_read_an_oci_archive_skopeo_writes(tmp_path, kinds):
    layout = tmp_path / "layout"
    config = make_oci_layout(layout, [BASE, OTHER], kinds, "other", "v1")
    out = tmp_path / "oci.tar"
    skopeo("copy", f"oci:{layout}:v1", f"oci-archive:{out}:localhost/other:2", tmp_path=tmp_path)
    [image] = read_archive(str(out))
    assert image.config == config                  # OCI to OCI: the config is copied byte for byte
    assert image.repo_tags == ["localhost/other:2"]
    assert [layer.open().read() for layer in image.layers] == [BASE, OTHER]
    assert all(sha(layer.open().read()) == layer.diff_id_expected for layer in image.layers)


def test_we_read_a_multi_image_docker_archive_skopeo_writes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    make_oci_layout(one, [BASE, APP], ["gzip", "gzip"], "one", "v1")
    make_oci_layout(two, [BASE, OTHER], ["gzip", "gzip"], "two", "v1")
    out = tmp_path / "multi.tar"
    # skopeo 1.9 has no multi-image docker-archive writer on its command line; our writer makes
    # one from two loads of skopeo's, which skopeo must then read back image by image.
    images = []
    for layout, tag in ((one, "one:1"), (two, "two:1")):
        single = tmp_path / f"{tag[:3]}.tar"
        skopeo("copy", f"oci:{layout}:v1", f"docker-archive:{single}:{tag}", tmp_path=tmp_path)
        [image] = read_archive(str(single))
        images.append(SaveImage(image.config, image.repo_tags,
                                [SaveLayer(l.diff_id_expected, l.open, None) for l in image.layers]))
    with open(out, "wb") as f:
        write_archive(f, images)
    for tag in ("one:1", "two:1"):
        info = json.loads(skopeo("inspect", f"docker-archive:{out}:{tag}", tmp_path=tmp_path).stdout)
        assert len(info["Layers"]) == 2
    loaded = read_archive(str(out))
    assert [i.repo_tags for i in loaded] == [["one:1"], ["two:1"]]
    assert [layer.open().read() for layer in loaded[1].layers] == [BASE, OTHER]
