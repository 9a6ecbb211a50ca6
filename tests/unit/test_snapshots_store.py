"""LayerStore bookkeeping that needs no root: layer index, chain of lower dirs, mount descriptions,
key checks, start-up sweep of tmp/, and the fd-based tree walk. Real files in a temp dir; nothing
is mounted (see tests/integration/test_snapshots_*.py for the kernel side)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading

import pytest

from hako.snapshots import (InvalidSnapshotKey, Layer, LayerError, LayerStore, Mount, SnapshotExists,
                            SnapshotNotFound, chain_id)
from hako.snapshots.tarwrite import _Exactly
from hako.snapshots.walk import walk_tree


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, os.geteuid(), os.getegid()
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def store(tmp_path):
    return LayerStore(str(tmp_path / "overlay"))


def test_a_new_store_lays_out_its_directories(tmp_path):
    LayerStore(str(tmp_path / "s"))
    assert sorted(os.listdir(tmp_path / "s")) == ["layers", "rw", "tmp"]


def test_applied_layers_are_indexed_by_chain_id_and_survive_a_restart(store, tmp_path):
    base = store.apply_tar(io.BytesIO(tar_of({"a": b"1"})), None)
    top = store.apply_tar(io.BytesIO(tar_of({"b": b"22"})), base.chain_id)
    assert base.chain_id == base.diff_id and base.parent is None and base.size == 1
    assert top.chain_id == chain_id(base.chain_id, top.diff_id) and top.parent == base.chain_id and top.size == 2
    again = LayerStore(store.root)
    assert sorted(again.layers(), key=lambda l: l.size) == [base, top]
    assert again.get(top.chain_id) == top


def test_lower_dirs_are_listed_top_first(store):
    base = store.apply_tar(io.BytesIO(tar_of({"a": b"1"})), None)
    top = store.apply_tar(io.BytesIO(tar_of({"b": b"2"})), base.chain_id)
    hexes = [os.path.basename(os.path.dirname(d)) for d in store.lower_dirs(top.chain_id)]
    assert hexes == [top.chain_id[7:], base.chain_id[7:]]
    assert all(d.endswith("/diff") for d in store.lower_dirs(top.chain_id))
    with pytest.raises(SnapshotNotFound):
        store.lower_dirs("sha256:" + "0" * 64)


def test_the_same_tar_twice_is_one_layer(store):
    data = tar_of({"a": b"1"})
    first = store.apply_tar(io.BytesIO(data), None)
    second = store.apply_tar(io.BytesIO(data), None)
    assert first == second
    assert os.listdir(os.path.join(store.root, "layers")) == [first.chain_id[7:]]
    assert os.listdir(os.path.join(store.root, "tmp")) == []


def test_the_same_tar_applied_by_threads_at_once_is_one_layer(store):
    data = tar_of({f"f{i}": b"x" * 1000 for i in range(200)})
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(store.apply_tar(io.BytesIO(data), None)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert len(os.listdir(os.path.join(store.root, "layers"))) == 1
    assert os.listdir(os.path.join(store.root, "tmp")) == []


def test_the_same_tar_over_another_parent_is_another_layer(store):
    p1 = store.apply_tar(io.BytesIO(tar_of({"p": b"1"})), None)
    p2 = store.apply_tar(io.BytesIO(tar_of({"p": b"2"})), None)
    data = tar_of({"c": b"x"})
    c1, c2 = store.apply_tar(io.BytesIO(data), p1.chain_id), store.apply_tar(io.BytesIO(data), p2.chain_id)
    assert c1.diff_id == c2.diff_id and c1.chain_id != c2.chain_id


def test_expected_diff_id_is_checked_and_lets_a_present_layer_skip_unpacking(store):
    data = tar_of({"a": b"1"})
    layer = store.apply_tar(io.BytesIO(data), None)
    stream = io.BytesIO(data)
    assert store.apply_tar(stream, None, expected_diff_id=layer.diff_id) == layer
    assert stream.read() == b""                       # consumed all the same
    with pytest.raises(LayerError, match="mismatch"):
        store.apply_tar(io.BytesIO(data), None, expected_diff_id="sha256:" + "1" * 64)
    with pytest.raises(LayerError, match="mismatch"):
        store.apply_tar(io.BytesIO(tar_of({"b": b"2"})), None, expected_diff_id=layer.diff_id)
    assert store.layers() == [layer]
    assert os.listdir(os.path.join(store.root, "tmp")) == []


def test_unknown_parent_is_not_found_before_reading(store):
    stream = io.BytesIO(tar_of({"a": b"1"}))
    with pytest.raises(SnapshotNotFound):
        store.apply_tar(stream, "sha256:" + "0" * 64)
    assert stream.tell() == 0


def test_remove_deletes_the_layer_directory(store):
    layer = store.apply_tar(io.BytesIO(tar_of({"a": b"1"})), None)
    store.remove(layer.chain_id)
    assert store.get(layer.chain_id) is None and store.layers() == []
    assert os.listdir(os.path.join(store.root, "layers")) == []
    assert os.listdir(os.path.join(store.root, "tmp")) == []
    with pytest.raises(SnapshotNotFound):
        store.remove(layer.chain_id)


def test_mounts_describe_an_overlay_over_the_parent_chain(store):
    base = store.apply_tar(io.BytesIO(tar_of({"a": b"1"})), None)
    top = store.apply_tar(io.BytesIO(tar_of({"b": b"2"})), base.chain_id)
    store.prepare("c1", top.chain_id)
    rw = os.path.join(store.root, "rw", "c1")
    assert store.mounts("c1") == [Mount("overlay", "overlay", rw + "/merged", [
        "lowerdir=" + ":".join(store.lower_dirs(top.chain_id)),
        f"upperdir={rw}/upper", f"workdir={rw}/work",
        "index=off", "redirect_dir=off", "metacopy=off"])]
    assert store.parent("c1") == top.chain_id


def test_a_snapshot_without_parent_has_an_empty_lower(store):
    store.prepare("scratch", None)
    rw = os.path.join(store.root, "rw", "scratch")
    (mount,) = store.mounts("scratch")
    assert mount.options[0] == f"lowerdir={rw}/empty"
    assert os.listdir(rw + "/empty") == []
    assert store.changes("scratch") == [] and store.disk_usage("scratch") == 0


def test_prepare_refuses_reuse_unknown_parents_and_bad_keys(store):
    store.prepare("c1", None)
    with pytest.raises(SnapshotExists):
        store.prepare("c1", None)
    with pytest.raises(SnapshotNotFound):
        store.prepare("c2", "sha256:" + "0" * 64)
    for key in ("", "../x", "a/b", ".hidden", "-x", "x" * 200, "a b"):
        with pytest.raises(InvalidSnapshotKey):
            store.prepare(key, None)
    assert store.rw_keys() == ["c1"]
    with pytest.raises(SnapshotNotFound):
        store.mounts("c2")


def test_remove_rw_deletes_and_is_idempotent(store):
    store.prepare("c1", None)
    store.prepare("c2", None)
    store.remove_rw("c1")
    store.remove_rw("c1")
    assert store.rw_keys() == ["c2"]
    assert os.listdir(os.path.join(store.root, "tmp")) == []


def test_start_up_throws_away_half_made_work(tmp_path):
    root = str(tmp_path / "s")
    store = LayerStore(root)
    layer = store.apply_tar(io.BytesIO(tar_of({"a": b"1"})), None)
    # What kill -9 in the middle of apply_tar, prepare and remove leaves behind.
    half = os.path.join(root, "tmp", "new-abc123", "diff", "usr", "bin")
    os.makedirs(half)
    with open(os.path.join(half, "partial"), "wb") as f:
        f.write(b"x" * 100)
    os.makedirs(os.path.join(root, "tmp", "del-xyz", "x", "upper"))
    again = LayerStore(root)
    assert os.listdir(os.path.join(root, "tmp")) == []
    assert again.layers() == [layer]


def test_a_layer_directory_without_metadata_is_ignored_then_replaced(tmp_path):
    root = str(tmp_path / "s")
    data = tar_of({"a": b"1"})
    layer = LayerStore(root).apply_tar(io.BytesIO(data), None)
    os.unlink(os.path.join(root, "layers", layer.chain_id[7:], "layer.json"))
    store = LayerStore(root)
    assert store.layers() == []
    assert store.apply_tar(io.BytesIO(data), None) == layer
    with open(os.path.join(root, "layers", layer.chain_id[7:], "layer.json")) as f:
        assert Layer(**json.load(f)) == layer


def test_walk_lists_preorder_does_not_follow_symlinks_and_survives_deep_trees(tmp_path):
    top = tmp_path / "t"
    (top / "b" / "c").mkdir(parents=True)
    (top / "a").write_text("x")
    (top / "link").symlink_to("/")
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert [e.path for e in walk_tree(fd)] == ["a", "b", "b/c", "link"]
        # deeper than both Python's recursion limit and PATH_MAX
        cur = os.open("b", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        for _ in range(1200):
            os.mkdir("dddd", dir_fd=cur)
            nxt = os.open("dddd", os.O_RDONLY | os.O_DIRECTORY, dir_fd=cur)
            os.close(cur)
            cur = nxt
        os.close(cur)
        paths = [e.path for e in walk_tree(fd)]
        assert len(paths) == 4 + 1200 and max(len(p) for p in paths) > 4096
    finally:
        _remove_chain(fd, "b", "dddd")
        os.close(fd)


def _remove_chain(fd: int, first: str, name: str) -> None:
    """rmdir a one-directory-per-level chain bottom up without recursion (rmtree would recurse)."""
    fds = [os.open(first, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)]
    while name in os.listdir(fds[-1]):
        fds.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
    os.close(fds.pop())
    while fds:
        os.rmdir(name, dir_fd=fds[-1])
        os.close(fds.pop())


def test_exactly_pads_a_shrunk_file_and_cuts_a_grown_one():
    shrunk = _Exactly(io.BytesIO(b"abc"), 6)
    assert shrunk.read(4) + shrunk.read(10) == b"abc\0\0\0" and shrunk.read() == b""
    grown = _Exactly(io.BytesIO(b"abcdef"), 4)
    assert grown.read() == b"abcd" and grown.read(1) == b""
