"""Local image operations through the docker SDK against hakod: import, inspect, list with
filters, tag, history, remove (and its conflicts) and prune.

Every image a test makes is removed afterwards, so busybox:latest, which the other tests share,
is the only image left.
"""

from __future__ import annotations

import io
import json
import tarfile
import time

import docker
import pytest

from tests.conftest import needs_root

pytestmark = needs_root


def layer_tar(files: dict[str, bytes]) -> bytes:
    """An uncompressed layer tar holding ``files`` (path → content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def import_image(client, repository: str | None = None, tag: str | None = None, changes=None,
                 content: bytes = b"hello\n") -> str:
    """Import a one-file image and return its id (sha256:…)."""
    reply = client.api.import_image_from_data(layer_tar({"hello.txt": content}), repository=repository,
                                              tag=tag, changes=changes)
    # The reply is a JSON progress stream whose last message carries the id in "status".
    last = [json.loads(line) for line in reply.splitlines() if line.strip()][-1]
    assert last["status"].startswith("sha256:"), reply
    return last["status"]


@pytest.fixture
def images(hakod):
    """The SDK client; every image not there before the test is removed after it."""
    client = hakod.sdk()
    before = {image.id for image in client.images.list(all=True)}
    yield client
    hakod.remove_all_containers()
    for image in client.images.list(all=True):
        if image.id not in before:
            try:
                client.images.remove(image.id, force=True)
            except docker.errors.NotFound:
                pass
    assert {image.id for image in client.images.list(all=True)} == before


def test_import_then_inspect(images):
    image_id = import_image(images, "sdk-imported", "v1",
                            changes=['CMD ["cat", "/hello.txt"]', "ENV GREETING=hi", "WORKDIR /data",
                                     "LABEL org.example.kind=test"])
    image = images.images.get("sdk-imported:v1")
    assert image.id == image_id
    assert image.tags == ["sdk-imported:v1"]
    assert image.labels == {"org.example.kind": "test"}
    attrs = image.attrs
    assert attrs["Config"]["Cmd"] == ["cat", "/hello.txt"]
    assert "GREETING=hi" in attrs["Config"]["Env"]
    assert attrs["Config"]["WorkingDir"] == "/data"
    assert attrs["Os"] == "linux"
    assert len(attrs["RootFS"]["Layers"]) == 1
    assert attrs["RootFS"]["Layers"][0].startswith("sha256:")
    assert attrs["Size"] > 0
    # The id is the digest of the config, and a short id finds it too.
    assert images.images.get(image_id.split(":")[1][:12]).id == image_id


def test_an_exported_container_imports_as_a_runnable_image(images):
    box = images.containers.run("busybox", ["sh", "-c", "echo made-in-box > /marker"], detach=True)
    assert box.wait(timeout=15)["StatusCode"] == 0
    images.api.import_image_from_data(b"".join(box.export()), repository="sdk-exported", tag="latest",
                                      changes=['CMD ["cat", "/marker"]'])
    assert images.containers.run("sdk-exported", remove=True) == b"made-in-box\n"


def test_get_missing_is_image_not_found(images):
    with pytest.raises(docker.errors.ImageNotFound) as info:
        images.images.get("no-such-image:nope")
    assert info.value.status_code == 404


def test_list_filters(images):
    tagged = import_image(images, "sdk-list-a", "one", changes=["LABEL team=blue"], content=b"a")
    other = import_image(images, "sdk-list-b", "two", changes=["LABEL team=red"], content=b"b")
    dangling = import_image(images, content=b"c")
    busybox = images.images.get("busybox").id

    def listed(**kwargs):
        return {image.id for image in images.images.list(**kwargs)}

    # Dangling images are listed (as <none>:<none>); only intermediate ones need all=True.
    assert listed() == {tagged, other, busybox, dangling}
    assert listed(all=True) == {tagged, other, busybox, dangling}
    assert listed(filters={"dangling": True}) == {dangling}
    assert listed(filters={"dangling": False}) == {tagged, other, busybox}
    assert listed(filters={"reference": "sdk-list-*"}) == {tagged, other}
    assert listed(filters={"reference": "sdk-list-a:one"}) == {tagged}
    assert listed(name="sdk-list-b") == {other}
    assert listed(filters={"label": "team"}) == {tagged, other}
    assert listed(filters={"label": "team=red"}) == {other}
    summary = next(i for i in images.api.images() if i["Id"] == tagged)
    assert summary["RepoTags"] == ["sdk-list-a:one"]
    assert summary["Labels"] == {"team": "blue"}
    assert summary["Size"] > 0 and isinstance(summary["Created"], int)
    with pytest.raises(docker.errors.APIError) as info:
        images.images.list(filters={"colour": "blue"})
    assert info.value.status_code == 400


def test_tag(images):
    image_id = import_image(images, "sdk-tag-src", "v1")
    image = images.images.get(image_id)
    assert image.tag("sdk-tag-dst", "t1") is True
    assert image.tag("localhost:5000/sdk/tag-dst") is True     # no tag means latest
    assert images.images.get("sdk-tag-dst:t1").id == image_id
    image.reload()
    assert set(image.tags) == {"sdk-tag-src:v1", "sdk-tag-dst:t1", "localhost:5000/sdk/tag-dst:latest"}
    with pytest.raises(docker.errors.ImageNotFound):
        images.api.tag("no-such-image", "sdk-tag-x", "y")
    with pytest.raises(docker.errors.APIError) as info:
        images.api.tag(image_id, "Invalid_UPPER", "y")
    assert info.value.status_code == 400


def test_retagging_leaves_the_old_image_dangling(images):
    first = import_image(images, "sdk-retag", "latest", content=b"first")
    second = import_image(images, "sdk-retag", "latest", content=b"second")
    assert first != second
    assert images.images.get("sdk-retag").id == second
    assert images.images.get(first).tags == []
    assert first in {image.id for image in images.images.list(filters={"dangling": True})}


def test_history(images):
    image_id = import_image(images, "sdk-history", "v1")
    history = images.images.get(image_id).history()
    assert len(history) == 1
    entry = history[0]
    assert entry["Id"] == image_id
    assert entry["Tags"] == ["sdk-history:v1"]
    assert entry["Size"] > 0
    assert "Imported from" in entry["Comment"]


def test_history_created_is_unix_seconds(images):
    image_id = import_image(images, "sdk-history", "v1")
    created = images.images.get(image_id).history()[0]["Created"]
    assert isinstance(created, int) and abs(created - time.time()) < 600


def test_remove_untags_then_deletes(images):
    image_id = import_image(images, "sdk-rm", "a")
    images.images.get(image_id).tag("sdk-rm", "b")
    result = images.api.remove_image("sdk-rm:a")
    assert result == [{"Untagged": "sdk-rm:a"}]
    assert images.images.get(image_id).tags == ["sdk-rm:b"]
    result = images.api.remove_image("sdk-rm:b")
    assert {"Untagged": "sdk-rm:b"} in result
    assert {"Deleted": image_id} in result
    with pytest.raises(docker.errors.ImageNotFound):
        images.images.get(image_id)
    with pytest.raises(docker.errors.ImageNotFound):
        images.images.remove(image_id)


def test_remove_by_id_with_several_tags_needs_force(images):
    image_id = import_image(images, "sdk-multi", "a")
    images.images.get(image_id).tag("sdk-multi", "b")
    with pytest.raises(docker.errors.APIError) as info:
        images.images.remove(image_id)
    assert info.value.status_code == 409
    assert "must be forced" in str(info.value) or "referenced in multiple repositories" in str(info.value)
    images.images.remove(image_id, force=True)
    with pytest.raises(docker.errors.ImageNotFound):
        images.images.get(image_id)


def test_remove_an_image_a_container_uses(images):
    box = images.containers.run("busybox", ["true"], detach=True)
    box.wait(timeout=15)
    data = b"".join(box.export())
    images.api.import_image_from_data(data, repository="sdk-in-use", tag="latest", changes=['CMD ["sleep", "60"]'])
    image_id = images.images.get("sdk-in-use").id
    stopped = images.containers.create("sdk-in-use", ["true"])
    with pytest.raises(docker.errors.APIError) as info:
        images.images.remove(image_id)
    assert info.value.status_code == 409
    assert stopped.id[:12] in str(info.value)
    running = images.containers.run("sdk-in-use", detach=True)
    with pytest.raises(docker.errors.APIError) as info:
        images.images.remove(image_id, force=True)
    assert info.value.status_code == 409
    assert images.images.get(image_id).id == image_id      # nothing changed
    running.remove(force=True)
    stopped.remove()
    images.images.remove(image_id)
    with pytest.raises(docker.errors.ImageNotFound):
        images.images.get(image_id)


def test_prune_removes_dangling_images_only(images):
    kept = import_image(images, "sdk-prune-kept", "v1", content=b"kept")
    dangling = import_image(images, content=b"dangling")
    result = images.images.prune()       # dangling=true is the default
    assert {"Deleted": dangling} in (result["ImagesDeleted"] or [])
    assert isinstance(result["SpaceReclaimed"], int)
    assert images.images.get(kept).id == kept
    assert images.images.get("busybox")
    with pytest.raises(docker.errors.ImageNotFound):
        images.images.get(dangling)
    again = images.images.prune(filters={"dangling": True})
    assert not again["ImagesDeleted"]


def test_prune_with_a_label_filter(images):
    match = import_image(images, changes=["LABEL prune=me"], content=b"match")
    other = import_image(images, changes=["LABEL prune=not-me"], content=b"other")
    result = images.images.prune(filters={"dangling": True, "label": "prune=me"})
    # Deleted entries name the image and then the layers that went with it.
    assert result["ImagesDeleted"][0] == {"Deleted": match}
    assert {"Deleted": other} not in result["ImagesDeleted"]
    assert images.images.get(other).id == other
    with pytest.raises(docker.errors.ImageNotFound):
        images.images.get(match)
