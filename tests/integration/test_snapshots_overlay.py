"""Writable snapshots on a real overlayfs: the merged view, mount bookkeeping, and the
prepare → mount → write → changes → diff_tar → export round trip."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile

import pytest

from hako.snapshots import ADDED, DELETED, MODIFIED, LayerStore, SnapshotNotFound
from hako.snapshots.mounting import mount_points, mounts_under
from tests.integration.test_snapshots_support import (directory, file, opaque, store, store_root,
                                                      symlink, tar, tree, whiteout)

__all__ = ["store", "store_root"]   # fixtures, used by name


@pytest.fixture
def image(store):
    """A two-layer image: a base, and a top layer that deletes and hides parts of it."""
    base = store.apply_tar(tar(
        directory("etc"), file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"), file("etc/motd", b"hello\n"),
        directory("opt"), file("opt/old1", b"1"), file("opt/old2", b"2"),
        directory("bin"), file("bin/busybox", b"\x7fELF" + b"b" * 100, mode=0o755), symlink("bin/sh", "busybox"),
        directory("var/lib"), file("var/lib/state", b"s"),
    ), None)
    top = store.apply_tar(tar(whiteout("etc/motd"), opaque("opt"), file("opt/fresh", b"f"),
                              file("app", b"app", mode=0o755)), base.chain_id)
    return top


def mount_count(path: str) -> int:
    return mount_points().count(path)


def test_the_merged_view_stacks_layers_with_deletions(store, image):
    store.prepare("c1", image.chain_id)
    merged = store.mount("c1")
    try:
        assert mount_count(merged) == 1
        view = tree(merged)
        assert sorted(view) == ["app", "bin", "bin/busybox", "bin/sh", "etc", "etc/passwd", "opt", "opt/fresh",
                                "var", "var/lib", "var/lib/state"]
        assert view["bin/busybox"][1] == 0o755
    finally:
        store.remove_rw("c1")
    assert mount_count(merged) == 0 and not os.path.lexists(os.path.dirname(merged))


def test_mount_and_unmount_are_idempotent(store, image):
    store.prepare("c1", image.chain_id)
    merged = store.mount("c1")
    assert store.mount("c1") == merged and mount_count(merged) == 1
    with open(os.path.join(merged, "note"), "w") as f:
        f.write("kept")
    store.unmount("c1")
    store.unmount("c1")
    store.unmount("never-prepared")
    assert mount_count(merged) == 0
    store.mount("c1")
    with open(os.path.join(merged, "note")) as f:
        assert f.read() == "kept"
    store.remove_rw("c1")


def test_remove_rw_detaches_a_busy_mount_and_deletes_everything(store, image):
    store.prepare("c1", image.chain_id)
    merged = store.mount("c1")
    busy = open(os.path.join(merged, "etc", "passwd"))       # makes umount(2) fail with EBUSY
    try:
        store.remove_rw("c1")
        assert mounts_under(store.root) == []
        assert not os.path.lexists(os.path.join(store.root, "rw", "c1"))
        assert os.listdir(os.path.join(store.root, "tmp")) == []
        assert store.rw_keys() == []
    finally:
        busy.close()
    store.remove_rw("c1")         # again: nothing to do


def test_a_store_restarted_over_a_mounted_snapshot_does_not_mount_it_twice(store_root, image, store):
    store.prepare("c1", image.chain_id)
    merged = store.mount("c1")
    again = LayerStore(store_root)
    assert again.rw_keys() == ["c1"] and mount_count(merged) == 1      # containers outlive the daemon
    assert again.mount("c1") == merged and mount_count(merged) == 1
    again.remove_rw("c1")


def change_things(merged: str) -> None:
    """What a container might do to its root."""
    with open(f"{merged}/etc/passwd", "a") as f:          # modify a lower file (copy-up)
        f.write("app:x:1000:1000::/home/app:/bin/sh\n")
    os.unlink(f"{merged}/var/lib/state")                  # delete a lower file (whiteout)
    shutil.rmtree(f"{merged}/bin")                        # delete a lower directory ...
    os.mkdir(f"{merged}/bin")                             # ... and make it again (opaque)
    with open(f"{merged}/bin/tool", "wb") as f:
        f.write(b"tool")
    os.chown(f"{merged}/bin/tool", 0, 50)
    os.chmod(f"{merged}/bin/tool", 0o4750)                # after chown, which clears setuid
    os.makedirs(f"{merged}/home/app")                     # add a tree
    with open(f"{merged}/home/app/data", "wb") as f:
        f.write(b"d" * 5000)
    os.link(f"{merged}/home/app/data", f"{merged}/home/app/data2")
    os.symlink("/home/app/data", f"{merged}/home/app/link")
    os.mkfifo(f"{merged}/home/app/fifo")
    os.setxattr(f"{merged}/home/app/data", "user.tag", b"v1")
    os.chmod(f"{merged}/app", 0o700)                      # metadata-only change of a lower file


EXPECTED_CHANGES = [
    ("/app", MODIFIED),
    ("/bin", MODIFIED), ("/bin/busybox", DELETED), ("/bin/sh", DELETED), ("/bin/tool", ADDED),
    ("/etc", MODIFIED), ("/etc/passwd", MODIFIED),
    ("/home", ADDED), ("/home/app", ADDED), ("/home/app/data", ADDED), ("/home/app/data2", ADDED),
    ("/home/app/fifo", ADDED), ("/home/app/link", ADDED),
    ("/var", MODIFIED), ("/var/lib", MODIFIED), ("/var/lib/state", DELETED),
]


def test_changes_diff_tar_and_export_round_trip(store, image):
    store.prepare("c1", image.chain_id)
    merged = store.mount("c1")
    change_things(merged)
    view = tree(merged)

    assert store.changes("c1") == EXPECTED_CHANGES
    out = io.BytesIO()
    diff_id = store.diff_tar("c1", out)
    store.unmount("c1")
    assert store.changes("c1") == EXPECTED_CHANGES         # the upper alone says it all

    # The diff, in OCI form, applied over the image gives back the container's view: `commit`.
    out.seek(0)
    names = tarfile.open(fileobj=io.BytesIO(out.getvalue())).getnames()
    assert "var/lib/.wh.state" in names and "bin/.wh..wh..opq" in names
    assert not any(".wh." in n and n.rsplit("/", 1)[-1] not in (".wh.state", ".wh..wh..opq") for n in names)
    committed = store.apply_tar(out, image.chain_id, expected_diff_id=diff_id)
    store.prepare("c2", committed.chain_id)
    try:
        merged2 = store.mount("c2")
        assert tree(merged2) == view
        assert os.getxattr(f"{merged2}/home/app/data", "user.tag") == b"v1"
        assert os.stat(f"{merged2}/home/app/data").st_ino == os.stat(f"{merged2}/home/app/data2").st_ino
        assert store.changes("c2") == []
        assert stat.S_IMODE(os.stat(f"{merged2}/bin/tool").st_mode) == 0o4750
    finally:
        store.remove_rw("c2")

    # export of the unmounted snapshot: the same view, through a private read-only mount.
    exported = io.BytesIO()
    store.export("c1", exported)
    assert mounts_under(store.root) == [] and os.listdir(os.path.join(store.root, "tmp")) == []
    assert_tar_matches(exported.getvalue(), view)

    # export of a mounted one reads its mount.
    store.mount("c1")
    again = io.BytesIO()
    store.export("c1", again)
    assert_tar_matches(again.getvalue(), view)
    store.remove_rw("c1")


def assert_tar_matches(data: bytes, view: dict) -> None:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        members = {m.name.rstrip("/"): m for m in t.getmembers()}
        assert sorted(members) == sorted(view)
        for name, m in members.items():
            kind, mode, uid, gid, *extra = view[name]
            assert (m.mode, m.uid, m.gid) == (mode, uid, gid) or m.issym(), name
            if m.isreg():
                assert (t.extractfile(m).read(), m.mtime) == tuple(extra), name
            elif m.islnk():
                assert view[m.linkname][4] == extra[0], name
            elif m.issym():
                assert m.linkname == extra[0], name
            else:
                assert kind == {tarfile.DIRTYPE: stat.S_IFDIR, tarfile.FIFOTYPE: stat.S_IFIFO}[m.type], name


def test_a_snapshot_without_parent_starts_empty(store):
    store.prepare("scratch", None)
    merged = store.mount("scratch")
    try:
        assert os.listdir(merged) == []
        with open(f"{merged}/hello", "wb") as f:
            f.write(b"world")
        assert store.changes("scratch") == [("/hello", ADDED)]
        out = io.BytesIO()
        store.unmount("scratch")
        store.export("scratch", out)
        with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as t:
            assert t.getnames() == ["hello"] and t.extractfile("hello").read() == b"world"
    finally:
        store.remove_rw("scratch")


def test_disk_usage_counts_what_the_container_wrote_once(store, image):
    store.prepare("c1", image.chain_id)
    merged = store.mount("c1")
    try:
        assert store.disk_usage("c1") == 0
        with open(f"{merged}/big", "wb") as f:
            f.write(b"x" * 10000)
        os.link(f"{merged}/big", f"{merged}/big2")
        os.unlink(f"{merged}/app")
        assert store.disk_usage("c1") == 10000       # a hard link and a whiteout add nothing
        with open(f"{merged}/etc/passwd", "a") as f:  # a copy-up counts the whole file
            f.write("x")
        assert store.disk_usage("c1") == 10000 + len(b"root:x:0:0::/root:/bin/sh\n") + 1
    finally:
        store.remove_rw("c1")
    with pytest.raises(SnapshotNotFound):
        store.disk_usage("c1")


def test_changes_see_through_opaque_directories_only_what_was_visible(store, image):
    """/opt is opaque in the image's top layer: old1 and old2 were never visible, so emptying /opt
    in the container deletes only opt/fresh."""
    store.prepare("c1", image.chain_id)
    merged = store.mount("c1")
    try:
        shutil.rmtree(f"{merged}/opt")
        os.mkdir(f"{merged}/opt")
        assert store.changes("c1") == [("/opt", MODIFIED), ("/opt/fresh", DELETED)]
    finally:
        store.remove_rw("c1")


def test_background_deletion_hides_a_removed_layer_at_once(store_root):
    """hakod's store deletes retired directories in a thread: gone from view immediately,
    deleted from tmp/ soon after."""
    from tests.polling import wait_for

    store = LayerStore(store_root, delete_in_background=True)
    layer = store.apply_tar(tar(*[file(f"f{i}", b"x") for i in range(200)]), None)
    store.prepare("c1", layer.chain_id)
    store.remove_rw("c1")
    store.remove(layer.chain_id)
    assert store.get(layer.chain_id) is None and store.rw_keys() == []
    assert os.listdir(store.layers_dir) == []
    wait_for(lambda: os.listdir(store.tmp_dir) == [], timeout=10, what="tmp/ to empty")
