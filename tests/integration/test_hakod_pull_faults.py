"""Pulls that go wrong: a registry serving a corrupt, truncated or stalled blob, a manifest of an
unknown media type, bad credentials, and hakod killed mid-pull. Each gives a clear error, stores
nothing unverified, and the next pull completes reusing what was verified."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid

import pytest

from tests import oci_images
from tests.conftest import needs_root
from tests.faulty_proxy import FaultyProxy

pytestmark = needs_root


@pytest.fixture
def proxy(registry):
    p = FaultyProxy(registry.host)
    yield p
    p.stop()


def skopeo_push(layout_path: str, target: str) -> None:
    result = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout_path}:v1", f"docker://{target}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def push_image(tmp_path, registry, payload: bytes) -> tuple[str, str]:
    """A one-layer image whose layer holds ``payload``; returns its path on the registry and the
    digest of the layer blob as the registry serves it."""
    layout = oci_images.Layout(str(tmp_path / f"layout-{uuid.uuid4().hex[:6]}"))
    layout.tag(layout.image([oci_images.tar_of({"payload": payload})]), "v1")
    layout.write()
    path = f"faults/img-{uuid.uuid4().hex[:8]}"
    skopeo_push(layout.path, f"{registry.host}/{path}:v1")
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/{path}:v1"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return path, json.loads(raw)["layers"][0]["digest"]


def blobs(daemon) -> set[str]:
    root = os.path.join(daemon.data_root, "content", "blobs", "sha256")
    return set(os.listdir(root)) if os.path.isdir(root) else set()


def image_ids(daemon) -> set[str]:
    return {i["Id"] for i in daemon.api("GET", "/images/json?all=1").json()}


@pytest.mark.parametrize("fault", ["corrupt", "truncate"])
def test_a_bad_blob_is_refused_and_nothing_is_stored(hakod, registry, proxy, tmp_path, fault):
    path, _ = push_image(tmp_path, registry, os.urandom(256 * 1024))
    proxy.fault = fault
    before_blobs, before_images = blobs(hakod), image_ids(hakod)
    result = hakod.docker("pull", f"{proxy.host}/{path}:v1")
    assert result.returncode != 0
    message = (result.stdout + result.stderr).lower()
    assert "digest" in message or "unexpected eof" in message or "short" in message or "verif" in message, message
    assert blobs(hakod) == before_blobs
    assert image_ids(hakod) == before_images

    proxy.fault = None
    hakod.docker("pull", f"{proxy.host}/{path}:v1", check=True)
    hakod.docker("rmi", f"{proxy.host}/{path}:v1", check=True)


def test_an_unknown_manifest_media_type_is_refused(hakod, registry, proxy, tmp_path):
    path, _ = push_image(tmp_path, registry, b"x")
    proxy.fault = "unknown-manifest"
    before = image_ids(hakod)
    result = hakod.docker("pull", f"{proxy.host}/{path}:v1")
    assert result.returncode == 1
    assert "application/vnd.example.unknown+json" in result.stderr or "unsupported" in result.stderr.lower()
    assert image_ids(hakod) == before


def test_bad_credentials_store_nothing(hakod, auth_registry):
    import base64

    before_blobs = blobs(hakod)
    auth = base64.urlsafe_b64encode(json.dumps({"username": auth_registry.username, "password": "wrong",
                                                "serveraddress": auth_registry.host}).encode()).decode()
    resp = hakod.api("POST", f"/images/create?fromImage={auth_registry.host}/private/anything&tag=v1",
                     headers={"X-Registry-Auth": auth})
    assert resp.status in (401, 403, 404, 500)
    assert "unauthorized" in resp.body.decode().lower() or "denied" in resp.body.decode().lower()
    assert blobs(hakod) == before_blobs


def test_kill9_mid_pull_then_the_next_pull_resumes(hakod, registry, proxy, tmp_path):
    payload = os.urandom(8 << 20)
    path, layer_digest = push_image(tmp_path, registry, payload)
    proxy.fault, proxy.fault_digest = "stall", layer_digest
    target = f"{proxy.host}/{path}:v1"

    puller = threading.Thread(target=lambda: hakod.docker("pull", target, timeout=120), daemon=True)
    puller.start()
    assert proxy.stalled.wait(60), "the pull never reached the layer"
    time.sleep(0.5)                      # let hakod write what it received
    hakod.kill9()
    proxy.release.set()
    puller.join(30)

    # nothing half-written is visible as a blob
    assert layer_digest[7:] not in blobs(hakod)
    hakod.launch()
    proxy.fault = None
    proxy.requests.clear()
    hakod.docker("pull", target, check=True)
    ranges = [r for m, p, r in proxy.requests if m == "GET" and p.endswith(layer_digest)]
    assert ranges and ranges[0] and ranges[0].startswith("bytes=") and not ranges[0].startswith("bytes=0-"), ranges
    # the unpacked layer was verified against the config's diff id; its size shows it is whole
    size = int(hakod.docker("image", "inspect", "-f", "{{.Size}}", target, check=True).stdout)
    assert size >= len(payload)
    hakod.docker("rmi", target, check=True)


def hostile_tar(kind: str) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add_file(name: str, data: bytes = b"owned\n") -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        if kind == "dotdot":
            add_file("../../../../tmp/hako-escape-dotdot")
        elif kind == "absolute":
            add_file("/tmp/hako-escape-absolute")
        elif kind == "symlink-parent":
            link = tarfile.TarInfo("escape")
            link.type, link.linkname = tarfile.SYMTYPE, "/tmp"
            tar.addfile(link)
            add_file("escape/hako-escape-symlink")
        elif kind == "hardlink-outside":
            link = tarfile.TarInfo("shadow")
            link.type, link.linkname = tarfile.LNKTYPE, "../../../../etc/shadow"
            tar.addfile(link)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink-parent", "hardlink-outside"])
def test_a_hostile_layer_is_contained_or_refused(hakod, registry, tmp_path, kind):
    layout = oci_images.Layout(str(tmp_path / "hostile"))
    layout.tag(layout.image([hostile_tar(kind)]), "v1")
    layout.write()
    target = f"{registry.host}/hostile/{kind}-{uuid.uuid4().hex[:6]}:v1"
    skopeo_push(layout.path, target)
    before = image_ids(hakod)
    result = hakod.docker("pull", target)
    for leaked in ("/tmp/hako-escape-dotdot", "/tmp/hako-escape-absolute", "/tmp/hako-escape-symlink"):
        assert not os.path.exists(leaked), f"{leaked} was written outside the layer"
    if result.returncode == 0:
        # contained: whatever landed is inside the image's own root
        hakod.docker("rmi", target, check=True)
    else:
        assert image_ids(hakod) == before
        assert result.stderr.strip(), "a refused layer says why"


def test_an_rmi_during_a_pull_does_not_collect_its_unpacked_layers(hakod, registry, proxy, busybox_image_tar, tmp_path):
    """Layers a pull has unpacked belong to no image until it ends; an `rmi` meanwhile (which
    collects unreferenced layers) must leave them."""
    with open(busybox_image_tar, "rb") as f:
        rootfs = f.read()
    layout = oci_images.Layout(str(tmp_path / "leased"))
    layout.tag(layout.image([rootfs, oci_images.tar_of({"one": os.urandom(4096)}),
                             oci_images.tar_of({"two": os.urandom(1 << 20)})]), "v1")
    layout.write()
    path = f"faults/leased-{uuid.uuid4().hex[:8]}"
    skopeo_push(layout.path, f"{registry.host}/{path}:v1")
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/{path}:v1"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    proxy.fault, proxy.fault_digest = "stall", json.loads(raw)["layers"][2]["digest"]
    target = f"{proxy.host}/{path}:v1"

    throwaway = f"throwaway-{uuid.uuid4().hex[:8]}:v1"
    hakod.docker("import", "-", throwaway, input=oci_images.tar_of({"x": os.urandom(64)}), check=True)
    result = {}
    puller = threading.Thread(target=lambda: result.update(r=hakod.docker("pull", target, timeout=120)), daemon=True)
    puller.start()
    try:
        assert proxy.stalled.wait(60)
        time.sleep(1.0)                                  # the middle layer unpacks meanwhile
        hakod.docker("rmi", throwaway, check=True)       # collects every layer no image names
    finally:
        proxy.fault = None
        proxy.release.set()
        puller.join(90)
    assert result["r"].returncode == 0, result["r"].stderr
    hakod.docker("rmi", target, check=True)
