"""save/load archives against the real thing: Debian's dockerd 20.10, started privately.

dockerd loads what write_archive makes (ids, layers and tags as we wrote them), and read_archive
reads what `docker save` writes in the pre-25 format: legacy ``<id>/layer.tar`` directories, a
layer shared by two images stored once and symlinked from the other.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid

import pytest

from hako.images import manifests
from hako.images.archive import SaveImage, SaveLayer, read_archive, write_archive
from tests.conftest import needs_root

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from engine_daemons import DockerDaemon  # noqa: E402

DOCKER_CLI = shutil.which("docker") or "/usr/local/bin/docker"
pytestmark = [needs_root, pytest.mark.skipif(not shutil.which("dockerd") or not shutil.which("containerd"),
                                             reason="needs Debian's dockerd and containerd")]


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


BASE = layer_tar({"bin/tool": os.urandom(100_000), "etc/motd": b"hello\n"})
APP = layer_tar({"app/main": b"main\n" * 1000})
OTHER = layer_tar({"other/file": b"other"})


def image_config(layers: list[bytes], cmd: str) -> bytes:
    return json.dumps({"architecture": manifests.host_platform().architecture, "os": "linux",
                       "created": "2024-01-02T03:04:05Z", "config": {"Cmd": [cmd]},
                       "rootfs": {"type": "layers", "diff_ids": [sha(l) for l in layers]}}).encode()


def save(layers: list[bytes], tags: list[str], cmd: str) -> SaveImage:
    return SaveImage(image_config(layers, cmd), tags,
                     [SaveLayer(sha(l), (lambda l=l: io.BytesIO(l)), len(l)) for l in layers])


@pytest.fixture(scope="module")
def dockerd():
    token = uuid.uuid4().hex[:8]
    daemon = DockerDaemon(DOCKER_CLI, base=f"/var/tmp/hka-{token}", exec_root=f"/run/hka-{token}",
                          cgroup_parent=f"/hako-archive-test-{token}")
    try:
        daemon.start()
        yield daemon
    finally:
        left = daemon.stop()
        assert not left, f"dockerd left behind: {left}"


@pytest.fixture
def loaded_by_dockerd(dockerd, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    images = [save([BASE, APP], [f"arch-app-{suffix}:1.0", f"localhost:5000/arch/app-{suffix}:latest"], "app"),
              save([BASE, OTHER], [f"arch-other-{suffix}:2"], "other"),
              save([APP], [f"arch-alone-{suffix}:3"], "alone")]
    path = tmp_path / "ours.tar"
    with open(path, "wb") as out:
        write_archive(out, images)
    result = dockerd.docker("load", "-i", str(path))
    yield images, result.stdout, suffix
    dockerd.docker("rmi", "-f", *(sha(i.config) for i in images), check=False)


def test_dockerd_loads_our_archive(dockerd, loaded_by_dockerd):
    images, output, suffix = loaded_by_dockerd
    for tag in (f"arch-app-{suffix}:1.0", f"localhost:5000/arch/app-{suffix}:latest", f"arch-other-{suffix}:2"):
        assert f"Loaded image: {tag}" in output
    for image, tag, layers in ((images[0], f"arch-app-{suffix}:1.0", [BASE, APP]),
                               (images[1], f"arch-other-{suffix}:2", [BASE, OTHER])):
        [info] = json.loads(dockerd.docker("image", "inspect", tag).stdout)
        assert info["Id"] == sha(image.config)                # the config's exact bytes
        assert info["RootFS"]["Layers"] == [sha(l) for l in layers]
        assert info["Config"]["Cmd"] == json.loads(image.config)["config"]["Cmd"]


def test_we_read_what_dockerd_saves(dockerd, loaded_by_dockerd, tmp_path):
    images, _, suffix = loaded_by_dockerd
    out = tmp_path / "theirs.tar"
    dockerd.docker("save", "-o", str(out), f"arch-app-{suffix}:1.0", f"arch-other-{suffix}:2", f"arch-alone-{suffix}:3")
    with tarfile.open(out) as tar:
        # Docker < 25: <v1 id>/layer.tar; APP under another parent gets another v1 id, and its
        # second copy is a symlink to the first.
        assert any(m.issym() and m.name.endswith("/layer.tar") for m in tar.getmembers())
        assert "index.json" not in tar.getnames()
    loaded = {i.image_id: i for i in read_archive(str(out))}
    assert set(loaded) == {sha(i.config) for i in images}
    app, other, alone = (loaded[sha(i.config)] for i in images)
    assert app.repo_tags == [f"arch-app-{suffix}:1.0"] and other.repo_tags == [f"arch-other-{suffix}:2"]
    assert (app.config, other.config, alone.config) == tuple(i.config for i in images)
    for image, layers in ((app, [BASE, APP]), (other, [BASE, OTHER]), (alone, [APP])):
        read = []
        for layer in image.layers:
            with layer.open() as stream:
                data = stream.read()
            assert sha(data) == layer.diff_id_expected
            read.append(data)
        assert read == layers


def test_we_read_a_gzipped_docker_save(dockerd, loaded_by_dockerd, tmp_path):
    images, _, suffix = loaded_by_dockerd
    saved = subprocess.run([DOCKER_CLI, "save", f"arch-other-{suffix}:2"], env=dockerd.env,
                           capture_output=True, check=True, timeout=120).stdout
    (tmp_path / "theirs.tar.gz").write_bytes(gzip.compress(saved, 1))
    [image] = read_archive(str(tmp_path / "theirs.tar.gz"))
    assert image.config == images[1].config
    assert [layer.open().read() for layer in image.layers] == [BASE, OTHER]
