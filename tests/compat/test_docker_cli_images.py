"""The real docker CLI against hakod: local image commands — images, tag, rmi, import, export,
history, diff — and their image/container subcommand forms.

The session's daemon is shared, so every test removes the tags and images it made; busybox:latest
must survive every test.
"""

from __future__ import annotations

import io
import json
import re
import tarfile

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


def ok(hakod, *args, **kwargs):
    return hakod.docker(*args, check=True, **kwargs).stdout


def image_id(hakod, name: str) -> str:
    return ok(hakod, "image", "inspect", "-f", "{{.Id}}", name).strip()


def small_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def cleanup_images(hakod):
    """Names (tags or ids) to remove after the test, whatever happened in it."""
    names: list[str] = []
    yield names
    hakod.remove_all_containers()
    for name in reversed(names):
        hakod.docker("rmi", "-f", name)
    assert image_id(hakod, "busybox:latest").startswith("sha256:")


@pytest.fixture
def tiny(hakod, tmp_path, cleanup_images):
    """A one-file image imported from a tar file, tagged tiny:1."""
    path = tmp_path / "tiny.tar"
    path.write_bytes(small_tar({"hello": b"hi\n"}))
    out = ok(hakod, "import", str(path), "tiny:1")
    cleanup_images.append(out.strip())
    return out.strip()


# --- images ---------------------------------------------------------------------------------------

def test_images_table_and_formats(hakod):
    bid = image_id(hakod, "busybox")
    lines = ok(hakod, "images").splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = next(line.split() for line in lines[1:] if line.startswith("busybox "))
    assert row[:3] == ["busybox", "latest", bid[7:19]]
    assert re.fullmatch(r"\d+(\.\d+)?MB", row[-1])
    assert "busybox:latest" in ok(hakod, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert bid in ok(hakod, "images", "-q", "--no-trunc").split()
    assert ok(hakod, "images", "-q", "busybox") == bid[7:19] + "\n"
    assert ok(hakod, "images", "-q", "no-such-repo") == ""


def test_tag_adds_a_name_for_the_same_image(hakod, cleanup_images):
    cleanup_images.append("mybb:v1")
    assert ok(hakod, "tag", "busybox", "mybb:v1") == ""
    assert image_id(hakod, "mybb:v1") == image_id(hakod, "busybox")
    # One row per tag in the table, but a reference filter shows the image once, under that tag.
    assert ok(hakod, "images", "--format", "{{.Repository}}:{{.Tag}}", "mybb") == "mybb:v1\n"
    assert ok(hakod, "images", "-q", "mybb:v1") == image_id(hakod, "busybox")[7:19] + "\n"
    assert ok(hakod, "image", "tag", "mybb:v1", "mybb:v2") == ""
    cleanup_images.append("mybb:v2")
    assert sorted(ok(hakod, "images", "--format", "{{.Tag}}", "mybb").split()) == ["v1", "v2"]


def test_tag_errors(hakod):
    result = hakod.docker("tag", "busybox", "Bad:Name")
    assert result.returncode == 1
    assert "invalid reference format" in result.stderr
    result = hakod.docker("tag", "no-such-image", "x:y")
    assert result.returncode == 1
    assert "Error response from daemon: No such image: no-such-image" in result.stderr


def test_rmi_of_one_of_several_tags_only_untags(hakod, cleanup_images):
    cleanup_images.append("mybb:gone")
    ok(hakod, "tag", "busybox", "mybb:gone")
    assert ok(hakod, "rmi", "mybb:gone") == "Untagged: mybb:gone\n"
    assert hakod.docker("image", "inspect", "mybb:gone").returncode == 1
    assert image_id(hakod, "busybox").startswith("sha256:")


def test_rmi_of_the_last_tag_deletes_the_image(hakod, tiny):
    out = ok(hakod, "rmi", "tiny:1")
    assert out == f"Untagged: tiny:1\nDeleted: {tiny}\n"
    result = hakod.docker("image", "inspect", tiny)
    assert result.returncode == 1
    assert "No such image" in result.stderr


def test_rmi_by_id_with_several_tags_must_be_forced(hakod, tiny, cleanup_images):
    ok(hakod, "tag", "tiny:1", "tiny:2")
    cleanup_images.append("tiny:2")
    result = hakod.docker("rmi", tiny[7:19])
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error response from daemon: conflict: unable to delete {tiny[7:19]} "
                                     "(must be forced) - image is referenced in multiple repositories")
    out = ok(hakod, "rmi", "-f", tiny[7:19])
    assert sorted(out.splitlines()) == sorted(["Untagged: tiny:1", "Untagged: tiny:2", f"Deleted: {tiny}"])


def test_rmi_conflicts_with_a_container(hakod, tiny):
    cid = ok(hakod, "create", "--name", "user", "tiny:1", "x").strip()
    result = hakod.docker("rmi", "tiny:1")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'Error response from daemon: conflict: unable to remove repository reference "tiny:1" (must force) - '
        f"container {cid[:12]} is using its referenced image {tiny[7:19]}")
    assert image_id(hakod, "tiny:1") == tiny


def test_rmi_of_an_image_a_running_container_uses_cannot_be_forced(hakod, cleanup_images):
    ok(hakod, "tag", "busybox", "mybb:busy")
    cleanup_images.append("mybb:busy")
    ok(hakod, "run", "-d", "--name", "busy", "mybb:busy", "sleep", "300")
    bid = image_id(hakod, "busybox")
    result = hakod.docker("rmi", "-f", bid)
    assert result.returncode == 1
    cid = ok(hakod, "inspect", "-f", "{{.Id}}", "busy").strip()
    assert f"conflict: unable to delete {bid[7:19]} (cannot be forced) - image is being used by running " \
           f"container {cid[:12]}" in result.stderr
    # Untagging one of its names is still fine.
    assert ok(hakod, "rmi", "mybb:busy") == "Untagged: mybb:busy\n"


def test_rmi_force_deletes_an_image_a_stopped_container_uses(hakod, tiny):
    ok(hakod, "create", "--name", "user", "tiny:1", "x")
    out = ok(hakod, "rmi", "-f", "tiny:1")
    assert out == f"Untagged: tiny:1\nDeleted: {tiny}\n"


def test_rmi_of_a_missing_image(hakod):
    result = hakod.docker("rmi", "no-such-image")
    assert result.returncode == 1
    assert "Error response from daemon: No such image: no-such-image" in result.stderr


# --- import, export, history, diff ---------------------------------------------------------------

def test_import_from_a_file_with_changes_and_message(hakod, tmp_path, cleanup_images):
    path = tmp_path / "layer.tar"
    path.write_bytes(small_tar({"etc/greeting": b"hello\n"}))
    out = ok(hakod, "import", "-m", "from a test", "-c", "ENV GREETING=hi", "-c", 'CMD ["/bin/true"]',
             str(path), "imported:v1")
    cleanup_images.append("imported:v1")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out)
    assert out.strip() == image_id(hakod, "imported:v1")
    config = json.loads(ok(hakod, "image", "inspect", "-f", "{{json .Config}}", "imported:v1"))
    assert config["Env"] == ["GREETING=hi"] and config["Cmd"] == ["/bin/true"]
    assert ok(hakod, "image", "inspect", "-f", "{{.Comment}}", "imported:v1") == "from a test\n"


def test_import_from_stdin_and_run_it(hakod, tmp_path, cleanup_images):
    hakod.docker("run", "--name", "src", "busybox", "sh", "-c", "echo made-here > /marker", check=True)
    tar = hakod.docker("export", "src", input=b"").stdout
    ok(hakod, "image", "import", "-", "roundtrip:v1", input=tar)
    cleanup_images.append("roundtrip:v1")
    assert ok(hakod, "run", "--rm", "roundtrip:v1", "cat", "/marker") == "made-here\n"


def test_export_writes_the_containers_filesystem(hakod, tmp_path):
    hakod.docker("run", "--name", "ex", "busybox", "sh", "-c", "mkdir /made; echo data > /made/file", check=True)
    out = tmp_path / "ex.tar"
    assert ok(hakod, "export", "-o", str(out), "ex") == ""
    with tarfile.open(out) as tar:
        names = {n.lstrip("./") for n in tar.getnames()}
        member = next(m for m in tar.getmembers() if m.name.lstrip("./") == "made/file")
        assert tar.extractfile(member).read() == b"data\n"
    assert {"bin/busybox", "made", "etc"} <= names
    streamed = hakod.docker("container", "export", "ex", input=b"").stdout
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tar:
        assert any(n.lstrip("./") == "made/file" for n in tar.getnames())


def test_history(hakod, tiny):
    lines = ok(hakod, "history", "tiny:1").splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(tiny[7:19])
    assert ok(hakod, "image", "history", "-q", "--no-trunc", "tiny:1").split()[0] == tiny


def test_diff_lists_what_the_container_changed(hakod):
    hakod.docker("run", "--name", "df", "busybox", "sh", "-c",
                 "echo new > /newfile; rm /bin/true; mkdir /newdir", check=True)
    lines = set(ok(hakod, "diff", "df").splitlines())
    assert {"A /newfile", "A /newdir", "C /bin", "D /bin/true"} <= lines
    assert ok(hakod, "container", "diff", "df") != ""


def test_diff_of_an_untouched_container_is_empty(hakod):
    hakod.docker("run", "--name", "clean", "busybox", "true", check=True)
    assert ok(hakod, "diff", "clean") == ""
