"""Applying layer tars as root on a real filesystem: what lands in the layer directory, how OCI
whiteouts become overlay ones, and hostile archives that must leave nothing outside the store."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import threading
import tracemalloc
import uuid

import pytest

from hako.snapshots import LayerError
from tests.integration.test_snapshots_support import (MTIME, chardev, directory, fifo, file, hardlink, opaque,
                                                      store, store_root, symlink, tar, tree, whiteout)

__all__ = ["store", "store_root"]   # fixtures, used by name


def layer_dir(store, layer) -> str:
    return store.lower_dirs(layer.chain_id)[0]


def assert_store_clean(store, layers: int) -> None:
    """No half-made work left in tmp/ and exactly ``layers`` committed layers."""
    assert os.listdir(os.path.join(store.root, "tmp")) == []
    assert len(store.layers()) == len(os.listdir(os.path.join(store.root, "layers"))) == layers


def test_entries_keep_their_type_owner_mode_time_and_xattrs(store):
    layer = store.apply_tar(tar(
        directory("./", mode=0o750, gid=7),
        directory("bin", mode=0o751, uid=0, gid=0),
        file("bin/su", b"#!su", mode=0o4755),
        file("bin/wall", b"wall", mode=0o2755, uid=0, gid=5),
        hardlink("bin/su-again", "bin/su"),
        symlink("bin/sh", "/bin/busybox"),
        directory("home/user", mode=0o700, uid=1000, gid=1000),
        file("home/user/.profile", b"export X=1\n", mode=0o600, uid=1000, gid=1000),
        file("ping", b"ping", mode=0o755, xattrs={"security.capability": b"\x01\x00\x00\x02\x00\x20\x00\x00\x00"
                                                                            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                                                   "user.note": b"hi"}),
        chardev("dev/null", 1, 3),
        fifo("run/pipe", mode=0o620),
        directory("tmp", mode=0o1777),
    ), None)
    root = layer_dir(store, layer)
    t = tree(root)
    assert t["bin"][:4] == (stat.S_IFDIR, 0o751, 0, 0)
    assert t["bin/su"] == (stat.S_IFREG, 0o4755, 0, 0, b"#!su", MTIME)
    assert t["bin/wall"] == (stat.S_IFREG, 0o2755, 0, 5, b"wall", MTIME)
    assert os.lstat(f"{root}/bin/su").st_ino == os.lstat(f"{root}/bin/su-again").st_ino
    assert t["bin/sh"][0] == stat.S_IFLNK and t["bin/sh"][-1] == "/bin/busybox"
    assert os.lstat(f"{root}/bin/sh").st_mtime == MTIME
    assert t["home/user"][:4] == (stat.S_IFDIR, 0o700, 1000, 1000)
    assert t["home"][:4] == (stat.S_IFDIR, 0o755, 0, 0)            # made implicitly
    assert t["home/user/.profile"][2:4] == (1000, 1000)
    assert t["dev/null"] == (stat.S_IFCHR, 0o666, 0, 0, 1, 3)
    assert t["run/pipe"][:2] == (stat.S_IFIFO, 0o620)
    assert t["tmp"][1] == 0o1777
    assert os.getxattr(f"{root}/ping", "user.note") == b"hi"
    assert os.getxattr(f"{root}/ping", "security.capability")[:4] == b"\x01\x00\x00\x02"
    assert os.stat(f"{root}/home/user").st_mtime == MTIME            # set after its contents
    root_st = os.stat(root)                                            # "./" is the root itself
    assert (stat.S_IMODE(root_st.st_mode), root_st.st_gid, root_st.st_mtime) == (0o750, 7, MTIME)
    assert layer.size == len(b"#!su") + len(b"wall") + len(b"export X=1\n") + len(b"ping")
    assert_store_clean(store, 1)


def test_diff_id_is_the_digest_of_every_byte_including_padding(store):
    stream = tar(file("a", b"x" * 1000))
    raw = stream.getvalue() + b"\0" * 4096       # writers may pad further; it is part of the blob
    stream.seek(0, os.SEEK_END)
    stream.write(b"\0" * 4096)
    stream.seek(0)
    layer = store.apply_tar(stream, None)
    assert layer.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert stream.read() == b""


def test_a_pipe_is_enough_and_big_files_are_copied_in_chunks(store, tmp_path):
    size = 48 << 20
    source = tmp_path / "big.tar"
    with open(source, "wb") as f:
        with tarfile.open(fileobj=f, mode="w") as t:
            info = tarfile.TarInfo("big")
            info.size = size
            t.addfile(info, _Zeros(size))
    read_fd, write_fd = os.pipe()

    def feed():
        with open(source, "rb") as src, open(write_fd, "wb") as dst:
            while chunk := src.read(1 << 16):
                dst.write(chunk)

    feeder = threading.Thread(target=feed)
    feeder.start()
    tracemalloc.start()
    try:
        with open(read_fd, "rb", buffering=0) as stream:
            layer = store.apply_tar(stream, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        feeder.join()
    assert peak < 8 << 20, f"peak {peak} bytes: the file was not streamed"
    assert os.path.getsize(os.path.join(layer_dir(store, layer), "big")) == size
    with open(source, "rb") as f:
        assert layer.diff_id == "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()


class _Zeros:
    def __init__(self, n: int):
        self.left = n

    def read(self, n: int) -> bytes:
        n = min(n, self.left)
        self.left -= n
        return b"\0" * n


def test_whiteouts_and_opaque_directories_become_overlay_ones(store):
    base = store.apply_tar(tar(file("etc/motd", b"hi"), file("opt/a", b"a"), file("keep", b"k")), None)
    top = store.apply_tar(tar(whiteout("etc/motd"), opaque("opt"), file("opt/b", b"b")), base.chain_id)
    root = layer_dir(store, top)
    st = os.lstat(f"{root}/etc/motd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(f"{root}/opt", "trusted.overlay.opaque") == b"y"
    assert sorted(os.listdir(f"{root}/opt")) == ["b"]              # no .wh. files in overlay form
    assert not os.path.lexists(f"{root}/keep")


def test_later_entries_replace_earlier_ones(store):
    layer = store.apply_tar(tar(
        file("x", b"file"), directory("x"), file("x/in", b"1"),   # a file replaced by a directory
        directory("d", mode=0o700), file("d/kept", b"k"), directory("d", mode=0o755),  # dir over dir
        directory("y"), file("y/z", b"z"), symlink("y", "elsewhere"),  # a directory by a symlink
        file("w", b"w"), whiteout("w"),                                # a whiteout over a file
    ), None)
    t = tree(layer_dir(store, layer))
    assert t["x"][0] == stat.S_IFDIR and t["x/in"][4] == b"1"
    assert t["d"][1] == 0o755 and t["d/kept"][4] == b"k"
    assert t["y"][0] == stat.S_IFLNK and "y/z" not in t
    assert t["w"][0] == stat.S_IFCHR


def test_reserved_overlay_xattrs_from_an_archive_are_dropped(store):
    layer = store.apply_tar(tar(
        directory("d", xattrs={"trusted.overlay.redirect": b"/etc", "trusted.overlay.opaque": b"y"}),
        file("f", b"", xattrs={"trusted.overlay.origin": b"x", "user.ok": b"1"})), None)
    root = layer_dir(store, layer)
    assert os.listxattr(f"{root}/d") == []
    assert os.listxattr(f"{root}/f") == ["user.ok"]


# ---- hostile archives -------------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path):
    """A directory outside the store that hostile archives aim at; must stay empty."""
    path = tmp_path / "outside"
    path.mkdir()
    return str(path)


def hostile_cases(outside: str, host_name: str):
    yield "dotdot", tar(file("a"), file(f"../../../../../../..{outside}/x", b"pwned"))
    yield "dotdot-inside", tar(file("a/../../x", b"pwned"))
    yield "absolute", tar(file(f"/etc/{host_name}", b"pwned"))
    yield "absolute-outside", tar(file(f"{outside}/x", b"pwned"))
    yield "symlink-then-file", tar(symlink("link", outside), file("link/x", b"pwned"))
    yield "symlink-then-dir", tar(symlink("link", outside), directory("link/sub"))
    yield "relative-symlink-then-file", tar(symlink("up", "../../../../../../../.."),
                                            file(f"up{outside}/x", b"pwned"))
    yield "symlink-deep-parent", tar(directory("a"), symlink("a/b", outside), file("a/b/c/x", b"pwned"))
    yield "symlink-then-whiteout", tar(symlink("link", outside), whiteout("link/x"))
    # A directory used as a parent, then replaced by a symlink out: the extractor's cache of open
    # parent directories must not keep writing through the old one, nor follow the new one.
    yield "dir-replaced-by-symlink", tar(directory("c"), file("c/a"), symlink("c", outside), file("c/x", b"pwned"))
    yield "dir-whited-out-then-symlink", tar(directory("c"), file("c/a"), whiteout("c"), symlink("c", outside),
                                             file("c/x", b"pwned"))
    yield "symlink-then-opaque", tar(symlink("link", outside), opaque("link"))
    yield "symlink-then-hardlink", tar(file("f", b"pwned"), symlink("link", outside), hardlink("link/x", "f"))
    yield "hardlink-to-host-file", tar(hardlink("passwd", "/etc/passwd"))
    yield "hardlink-dotdot", tar(hardlink("passwd", "../../../../../../../../etc/passwd"))
    yield "hardlink-through-symlink", tar(symlink("etc", "/etc"), hardlink("passwd", "etc/passwd"))
    yield "hardlink-missing", tar(hardlink("x", "nothing"))
    yield "whiteout-dotdot", tar(file(".wh..."))
    yield "not-a-tar", _bytes(b"this is not a tar archive" * 40)
    yield "truncated", _bytes(tar(file("big", b"x" * 5000)).getvalue()[:2048])


def _bytes(data: bytes):
    return io.BytesIO(data)


def test_hostile_archives_are_refused_and_leave_nothing_behind(store, outside):
    host_name = f"hako-test-{uuid.uuid4().hex[:8]}"
    passwd = os.stat("/etc/passwd")
    base = store.apply_tar(tar(file("keep", b"k")), None)
    for case, stream in hostile_cases(outside, host_name):
        with pytest.raises(LayerError):
            store.apply_tar(stream, base.chain_id)
        assert os.listdir(outside) == [], case
        assert not os.path.lexists(f"/etc/{host_name}"), case
        assert_store_clean(store, 1)
    after = os.stat("/etc/passwd")
    assert (after.st_nlink, after.st_mtime_ns, after.st_mode) == (passwd.st_nlink, passwd.st_mtime_ns, passwd.st_mode)


def test_symlinks_pointing_out_are_stored_not_followed(store, outside):
    """An absolute or climbing symlink is legitimate content (it resolves inside the container)."""
    layer = store.apply_tar(tar(symlink("abs", outside), symlink("up", "../../.."),
                                file("abs2", b"not through the link")), None)
    root = layer_dir(store, layer)
    assert os.readlink(f"{root}/abs") == outside and os.readlink(f"{root}/up") == "../../.."
    assert os.listdir(outside) == []
