"""The docker SDK's images.build against hakod: a directory, a Dockerfile file object, a custom
context tar, build args, target, labels; failures raise BuildError with Docker's message."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture(autouse=True)
def _drop_build_cache(hakod):
    """The session's hakod is shared: the build cache (and the layers it keeps) goes after each test."""
    yield
    hakod.api("POST", "/build/prune?all=1")


def test_sdk_build_from_a_directory(hakod, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox AS one\nARG V\nRUN echo $V > /v\nFROM one AS two\nLABEL x=y\n"
                                         "FROM busybox\nRUN false\n")
    client = hakod.sdk()
    try:
        image, logs = client.images.build(path=str(tmp_path), tag="hako-sdk/build:1", buildargs={"V": "42"},
                                          target="two", labels={"from": "sdk"}, rm=True)
        assert "hako-sdk/build:1" in image.tags
        assert image.labels == {"x": "y", "from": "sdk"}
        streams = "".join(chunk.get("stream", "") for chunk in logs)
        assert "Successfully built" in streams
        assert client.containers.run("hako-sdk/build:1", ["cat", "/v"], remove=True) == b"42\n"
    finally:
        client.images.remove("hako-sdk/build:1", force=True)
        client.close()


def test_sdk_build_from_fileobj_and_custom_context(hakod):
    import docker

    client = hakod.sdk()
    try:
        image, _ = client.images.build(fileobj=io.BytesIO(b"FROM busybox\nENV K=v\n"), tag="hako-sdk/fileobj")
        assert "K=v" in image.attrs["Config"]["Env"]
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name, data in (("Dockerfile.custom", b"FROM busybox\nCOPY data /data\n"), ("data", b"payload\n")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        buf.seek(0)
        image, _ = client.images.build(fileobj=buf, custom_context=True, encoding="gzip",
                                       dockerfile="Dockerfile.custom", tag="hako-sdk/custom")
        assert client.containers.run("hako-sdk/custom", ["cat", "/data"], remove=True) == b"payload\n"
        with pytest.raises(docker.errors.BuildError) as exc:
            client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 2\n"))
        assert "returned a non-zero code: 2" in str(exc.value)
    finally:
        for name in ("hako-sdk/fileobj", "hako-sdk/custom"):
            try:
                client.images.remove(name, force=True)
            except docker.errors.ImageNotFound:
                pass
        client.close()
