"""The docker SDK against hakod: `client.volumes.*`, volumes and mounts in `containers.run`, and
`put_archive` / `get_archive`."""

from __future__ import annotations

import io
import tarfile
import uuid

import docker
import pytest

from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture
def client(hakod):
    c = hakod.sdk()
    yield c
    hakod.remove_all_containers()
    c.close()


def _tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_volumes_create_get_list_remove(client):
    name = "sdk-" + uuid.uuid4().hex[:8]
    vol = client.volumes.create(name=name, driver="local", labels={"k": "v"})
    try:
        assert vol.name == name and vol.attrs["Driver"] == "local" and vol.attrs["Labels"] == {"k": "v"}
        assert client.volumes.get(name).attrs["Mountpoint"] == vol.attrs["Mountpoint"]
        assert [v.name for v in client.volumes.list(filters={"label": "k=v"})] == [name]
        with pytest.raises(docker.errors.NotFound):
            client.volumes.get("sdk-nope-" + name)
        out = client.containers.run("busybox", ["sh", "-c", "echo sdk > /v/f && cat /v/f"],
                                    volumes={name: {"bind": "/v", "mode": "rw"}}, remove=True)
        assert out == b"sdk\n"
        holder = client.containers.create("busybox", "true", volumes=[f"{name}:/v"])
        with pytest.raises(docker.errors.APIError) as err:
            vol.remove()
        assert err.value.status_code == 409 and "volume is in use" in str(err.value)
        holder.remove()
    finally:
        vol.remove(force=True)
    assert name not in [v.name for v in client.volumes.list()]


def test_prune_and_mount_types(client):
    anon = client.api.create_volume(labels={"com.docker.volume.anonymous": ""})["Name"]
    result = client.volumes.prune()
    assert anon in (result["VolumesDeleted"] or [])
    mounts = [docker.types.Mount("/t", None, type="tmpfs", tmpfs_size=1 << 20),
              docker.types.Mount("/ro", "/etc", type="bind", read_only=True)]
    out = client.containers.run("busybox", ["sh", "-c", "grep -E ' /(t|ro) ' /proc/mounts"], mounts=mounts, remove=True)
    assert b"tmpfs /t tmpfs" in out and b"size=1024k" in out and b" /ro " in out and b" ro," in out


def test_put_and_get_archive(client):
    box = client.containers.run("busybox", ["sleep", "300"], detach=True)
    try:
        assert box.put_archive("/tmp", _tar("sdk.txt", b"put by the sdk\n")) is True
        stream, stat = box.get_archive("/tmp/sdk.txt")
        assert stat["name"] == "sdk.txt" and stat["size"] == 15 and stat["linkTarget"] == ""
        data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            assert tar.extractfile("sdk.txt").read() == b"put by the sdk\n"
        with pytest.raises(docker.errors.NotFound):
            box.get_archive("/no/such/file")
        with pytest.raises(docker.errors.APIError) as err:
            box.put_archive("/tmp/sdk.txt", _tar("x", b"x"))
        assert err.value.status_code == 400
        box.kill()
        box.wait()
        stream, stat = box.get_archive("/tmp/sdk.txt")      # a stopped container too
        assert stat["size"] == 15
        b"".join(stream)
    finally:
        box.remove(force=True)
