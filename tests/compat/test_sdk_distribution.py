"""The docker SDK pulls, pushes, logs in, saves and loads through hakod, against a real registry."""

from __future__ import annotations

import uuid

import pytest

from tests import oci_images
from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture
def client(hakod):
    c = hakod.sdk()
    yield c
    c.close()


def test_pull_streams_progress_with_details(client, registry, busybox_image_tar, tmp_path):
    with open(busybox_image_tar, "rb") as f:
        target = oci_images.push_fresh_image(registry.host, str(tmp_path), f.read(), f"sdk/fresh-{uuid.uuid4().hex[:8]}")
    repo, tag = target.rsplit(":", 1)
    messages = list(client.api.pull(repo, tag=tag, stream=True, decode=True))
    statuses = [m.get("status", "") for m in messages]
    assert statuses[0] == f"Pulling from {repo.split('/', 1)[1]}"
    assert "Pulling fs layer" in statuses and "Pull complete" in statuses and "Already exists" in statuses
    details = [m for m in messages if m.get("status") in ("Downloading", "Extracting")]
    assert details and all(0 < m["progressDetail"]["current"] <= m["progressDetail"]["total"] for m in details)
    assert any(s.startswith("Digest: sha256:") for s in statuses)
    assert statuses[-1] == f"Status: Downloaded newer image for {target}"
    image = client.images.get(target)
    try:
        assert any(d.startswith(f"{repo}@sha256:") for d in image.attrs["RepoDigests"])
    finally:
        client.images.remove(target)


def test_push_reports_the_digest_in_aux(client, registry):
    target = f"{registry.host}/sdk/aux-{uuid.uuid4().hex[:8]}"
    client.images.get("busybox:latest").tag(target, "v2")
    try:
        messages = list(client.images.push(target, tag="v2", stream=True, decode=True))
        aux = [m["aux"] for m in messages if "aux" in m]
        assert aux and aux[0]["Tag"] == "v2" and aux[0]["Digest"].startswith("sha256:") and aux[0]["Size"] > 0
        data = client.images.get_registry_data(f"{target}:v2")
        assert data.id == aux[0]["Digest"]
        assert data.has_platform("linux/amd64") or data.attrs["Platforms"]
    finally:
        client.images.remove(f"{target}:v2")


def test_high_level_pull_returns_the_image(client, registry):
    target = f"{registry.host}/sdk/hl-{uuid.uuid4().hex[:8]}"
    client.images.get("busybox:latest").tag(target, "v1")
    client.images.push(target, tag="v1")
    client.images.remove(f"{target}:v1")
    image = client.images.pull(target, tag="v1")
    try:
        assert f"{target}:v1" in image.tags
        assert client.containers.run(f"{target}:v1", ["echo", "sdk"], remove=True).strip() == b"sdk"
    finally:
        client.images.remove(f"{target}:v1")


def test_login_with_bad_and_good_credentials(client, auth_registry):
    import docker

    with pytest.raises(docker.errors.APIError) as info:
        client.login(username=auth_registry.username, password="wrong", registry=auth_registry.host, reauth=True)
    assert info.value.status_code == 401
    result = client.login(username=auth_registry.username, password=auth_registry.password,
                          registry=auth_registry.host, reauth=True)
    assert result["Status"] == "Login Succeeded"


def test_push_and_pull_with_auth_config(client, auth_registry):
    target = f"{auth_registry.host}/private/sdk-{uuid.uuid4().hex[:8]}"
    creds = {"username": auth_registry.username, "password": auth_registry.password}
    client.images.get("busybox:latest").tag(target, "v1")
    try:
        messages = list(client.images.push(target, tag="v1", stream=True, decode=True, auth_config=creds))
        assert not [m for m in messages if "error" in m], messages
        client.images.remove(f"{target}:v1")
        client.images.pull(target, tag="v1", auth_config=creds)
    finally:
        try:
            client.images.remove(f"{target}:v1")
        except Exception:
            pass


def test_save_and_load(client):
    tagged = f"sdk-saved-{uuid.uuid4().hex[:8]}:v1"
    image = client.images.get("busybox:latest")
    image.tag(tagged)
    try:
        data = b"".join(client.images.get(tagged).save(named=tagged))
        client.images.remove(tagged)
        loaded = client.images.load(data)
        assert [i.id for i in loaded] == [image.id]
        assert tagged in client.images.get(tagged).tags
    finally:
        client.images.remove(tagged)


def test_concurrent_pulls_of_one_image_share_the_download(client, registry, busybox_image_tar, tmp_path):
    import threading

    with open(busybox_image_tar, "rb") as f:
        target = oci_images.push_fresh_image(registry.host, str(tmp_path), f.read(), f"sdk/conc-{uuid.uuid4().hex[:8]}")
    repo, tag = target.rsplit(":", 1)
    errors = []

    def pull():
        try:
            for message in client.api.pull(repo, tag=tag, stream=True, decode=True):
                if "error" in message:
                    errors.append(message["error"])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(str(exc))

    threads = [threading.Thread(target=pull) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors
        assert target in client.images.get(target).tags
    finally:
        client.images.remove(target)
