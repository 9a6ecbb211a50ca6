"""`/containers/{id}/archive` against a real hakod: stat, tar out and tar in, on running and
stopped containers, through volumes and binds, and never out of the container's root however
its symlinks or the archive's are crafted."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import tarfile
import tempfile
import uuid

import pytest

from tests.conftest import needs_root
from tests.daemon import _quote

pytestmark = needs_root


def _tar(entries: list[tuple[str, str, str | bytes]]) -> bytes:
    """(name, kind, content): kind f (file), d (dir), l (symlink to content), h (hard link)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, content in entries:
            info = tarfile.TarInfo(name)
            if kind == "f":
                data = content.encode() if isinstance(content, str) else content
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
            elif kind == "d":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
                info.linkname = content
                tar.addfile(info)
    return buf.getvalue()


def _members(data: bytes) -> dict[str, bytes | str | None]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar:
            out[m.name] = tar.extractfile(m).read() if m.isreg() else (("->" + m.linkname) if m.issym() else None)
    return out


def _stat(resp) -> dict:
    return json.loads(base64.urlsafe_b64decode(resp.headers["X-Docker-Container-Path-Stat"]))


def _exec(hakod, cid: str, cmd: list[str]) -> int:
    exec_id = hakod.api("POST", f"/containers/{cid}/exec", {"Cmd": cmd}).json()["Id"]
    hakod.api("POST", f"/exec/{exec_id}/start", {"Detach": False})
    return hakod.api("GET", f"/exec/{exec_id}/json").json()["ExitCode"]


@pytest.fixture
def sentinel():
    """A host directory the tests try to reach from inside a container, and must not."""
    path = tempfile.mkdtemp(prefix="hako-test-escape-", dir="/var/tmp")
    with open(os.path.join(path, "secret"), "w") as f:
        f.write("host secret\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["running", "stopped"])
def box(request, hakod, sentinel):
    """A container with crafted symlinks: up -> ../../../..{sentinel}, abs -> {sentinel}, etc -> /etc,
    loop -> loop; running or stopped."""
    script = (f"mkdir -p /work/sub && echo inside > /work/sub/f && ln -s ../../../../..{sentinel} /work/up && "
              f"ln -s {sentinel} /work/abs && ln -s /etc /work/etc && ln -s loop /work/loop && "
              f"ln -s {sentinel}/secret /work/secretlink && ")
    cmd = ["sh", "-c", script + ("sleep 300" if request.param == "running" else "true")]
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "Cmd": cmd})
    cid = resp.json()["Id"]
    assert hakod.api("POST", f"/containers/{cid}/start").status == 204
    if request.param == "stopped":
        assert hakod.api("POST", f"/containers/{cid}/wait").json()["StatusCode"] == 0
    else:
        for _ in range(100):
            if _exec(hakod, cid, ["test", "-L", "/work/secretlink"]) == 0:
                break
    yield cid
    hakod.api("DELETE", f"/containers/{cid}?force=1")


def test_head_stat_header_has_dockers_fields(hakod, box):
    resp = hakod.api("HEAD", f"/containers/{box}/archive?path=/work/sub/f")
    assert resp.status == 200
    stat = _stat(resp)
    assert list(stat) == ["name", "size", "mode", "mtime", "linkTarget"]
    assert stat["name"] == "f" and stat["size"] == 7 and stat["mode"] == 0o644 and stat["linkTarget"] == ""
    assert stat["mtime"].endswith("Z")
    d = _stat(hakod.api("HEAD", f"/containers/{box}/archive?path=/work/sub/"))
    assert d["name"] == "sub" and d["mode"] == (1 << 31) | 0o755
    link = _stat(hakod.api("HEAD", f"/containers/{box}/archive?path=/work/etc"))
    assert link["mode"] & (1 << 27) and link["linkTarget"] == "/etc"
    resp = hakod.api("HEAD", f"/containers/{box}/archive?path=/nope")
    assert resp.status == 404


def test_get_a_file_a_directory_and_its_contents(hakod, box):
    resp = hakod.api("GET", f"/containers/{box}/archive?path=/work/sub/f")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/x-tar"
    assert _members(resp.body) == {"f": b"inside\n"}
    assert _members(hakod.api("GET", f"/containers/{box}/archive?path=/work/sub").body) == {"sub": None, "sub/f": b"inside\n"}
    contents = _members(hakod.api("GET", f"/containers/{box}/archive?path=/work/sub/.").body)
    assert contents.get("./f") == b"inside\n"
    resp = hakod.api("GET", f"/containers/{box}/archive?path=/nope/x")
    assert resp.status == 404
    assert resp.json()["message"] == f"Could not find the file /nope/x in container {box}"


def test_reading_through_symlinks_stays_inside_the_root(hakod, box, sentinel):
    for path in ("/work/up/secret", "/work/abs/secret", "/work/secretlink/", "/../../..{}/secret".format(sentinel)):
        resp = hakod.api("GET", f"/containers/{box}/archive?path={_quote(path)}")
        # the path resolves inside the container, where there is no such file
        assert resp.status == 404, (path, resp.status)
    # a symlink at the end is copied as a link, not followed
    assert _members(hakod.api("GET", f"/containers/{box}/archive?path=/work/secretlink").body) == \
        {"secretlink": f"->{sentinel}/secret"}
    # the link to /etc leads to the container's /etc
    got = _members(hakod.api("GET", f"/containers/{box}/archive?path=/work/etc/passwd").body)
    assert got["passwd"].startswith(b"root:x:0:0:")
    assert hakod.api("GET", f"/containers/{box}/archive?path=/work/loop/x").status in (400, 404)


def test_writing_through_symlinks_stays_inside_the_root(hakod, box, sentinel):
    before = sorted(os.listdir(sentinel))
    # the extraction point is a symlink climbing out: it is resolved inside the container
    for dest in ("/work/up", "/work/abs"):
        resp = hakod.api("PUT", f"/containers/{box}/archive?path={dest}/", body=_tar([("planted", "f", "x")]))
        assert resp.status in (200, 404), resp.body
    # archive members that try: .., absolute, a symlink made by the archive then written through
    for entries in ([("../planted", "f", "x")], [("/planted", "f", "x")],
                    [("esc", "l", f"../../../../..{sentinel}"), ("esc/planted", "f", "x")],
                    [("esc2", "l", sentinel), ("esc2/planted", "f", "x")],
                    [("hl", "h", f"../../../..{sentinel}/secret")]):
        hakod.api("PUT", f"/containers/{box}/archive?path=/work", body=_tar(entries))
    assert sorted(os.listdir(sentinel)) == before
    with open(os.path.join(sentinel, "secret")) as f:
        assert f.read() == "host secret\n"
    # what went through an archive's own symlink landed inside the container
    got = _members(hakod.api("GET", f"/containers/{box}/archive?path={sentinel}/planted").body)
    assert got == {"planted": b"x"}


def test_put_into_running_and_stopped_then_read_back(hakod, box):
    resp = hakod.api("PUT", f"/containers/{box}/archive?path=/work&noOverwriteDirNonDir=true",
                     body=_tar([("new", "d", ""), ("new/a.txt", "f", "A"), ("new/l", "l", "a.txt")]))
    assert resp.status == 200, resp.body
    got = _members(hakod.api("GET", f"/containers/{box}/archive?path=/work/new").body)
    assert got == {"new": None, "new/a.txt": b"A", "new/l": "->a.txt"}
    # a file onto a directory with noOverwriteDirNonDir is refused
    resp = hakod.api("PUT", f"/containers/{box}/archive?path=/work&noOverwriteDirNonDir=true",
                     body=_tar([("new", "f", "x")]))
    assert resp.status == 400 and "cannot overwrite directory" in resp.json()["message"]
    resp = hakod.api("PUT", f"/containers/{box}/archive?path=/work/sub/f", body=_tar([("x", "f", "x")]))
    assert (resp.status, resp.json()["message"]) == (400, "extraction point is not a directory")
    resp = hakod.api("PUT", f"/containers/{box}/archive?path=/nope", body=_tar([("x", "f", "x")]))
    assert resp.status == 404
    assert hakod.api("PUT", f"/containers/{box}/archive", body=_tar([])).status == 400


def test_cp_paths_in_volumes_and_binds_reach_them(hakod, sentinel):
    volume = "cp-" + uuid.uuid4().hex[:8]
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], "HostConfig": {
        "Binds": [f"{volume}:/vol", f"{sentinel}:/host:ro"]}})
    cid = resp.json()["Id"]
    try:
        assert hakod.api("PUT", f"/containers/{cid}/archive?path=/vol", body=_tar([("v.txt", "f", "in volume")])).status == 200
        mountpoint = hakod.api("GET", f"/volumes/{volume}").json()["Mountpoint"]
        with open(os.path.join(mountpoint, "v.txt")) as f:
            assert f.read() == "in volume"
        assert _members(hakod.api("GET", f"/containers/{cid}/archive?path=/host/secret").body) == {"secret": b"host secret\n"}
        resp = hakod.api("PUT", f"/containers/{cid}/archive?path=/host", body=_tar([("no", "f", "x")]))
        assert resp.status == 400 and resp.json()["message"] == "mounted volume is marked read-only"
        assert not os.path.exists(os.path.join(sentinel, "no"))
        everything = _members(hakod.api("GET", f"/containers/{cid}/archive?path=/").body)
        assert everything.get("./vol/v.txt") == b"in volume"
    finally:
        hakod.api("DELETE", f"/containers/{cid}?force=1")
        hakod.api("DELETE", f"/volumes/{volume}")


def test_readonly_rootfs_refuses_writes(hakod):
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"],
                                                    "HostConfig": {"ReadonlyRootfs": True}})
    cid = resp.json()["Id"]
    resp = hakod.api("PUT", f"/containers/{cid}/archive?path=/tmp", body=_tar([("x", "f", "x")]))
    assert (resp.status, resp.json()["message"]) == (400, "container rootfs is marked read-only")
    assert hakod.api("GET", f"/containers/{cid}/archive?path=/tmp/x").status == 404
