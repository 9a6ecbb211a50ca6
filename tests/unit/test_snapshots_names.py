"""hako.snapshots' pure parts: chain ids, tar member names, whiteout names, mountinfo, options."""

from __future__ import annotations

import hashlib

import pytest

from hako.snapshots import LayerError, chain_id, chain_ids
from hako.snapshots.mounting import parse_mount_points, split_options, unescape_mountinfo
from hako.snapshots.tarpath import is_aufs_meta, is_opaque_marker, split_member_name, whiteout_target

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
C = "sha256:" + "c" * 64


# ---- chain ids ----------------------------------------------------------------------------------

def test_chain_id_of_a_base_layer_is_its_diff_id():
    assert chain_id(None, A) == A


def test_chain_id_hashes_parent_space_diff_id():
    expected = "sha256:" + hashlib.sha256(f"{A} {B}".encode()).hexdigest()
    assert chain_id(A, B) == expected


def test_chain_ids_of_a_stack_fold_left():
    ab = chain_id(A, B)
    assert chain_ids([A, B, C]) == [A, ab, chain_id(ab, C)]
    assert chain_ids([]) == []


def test_chain_id_depends_on_order():
    assert chain_id(A, B) != chain_id(B, A)


@pytest.mark.parametrize("bad", ["", "sha256:abc", "md5:" + "a" * 64, "sha256:" + "A" * 64, "a" * 64])
def test_chain_id_rejects_what_is_not_a_sha256_digest(bad):
    with pytest.raises(ValueError):
        chain_id(None, bad)
    with pytest.raises(ValueError):
        chain_id(bad, A)


# ---- member names -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, parts", [
    ("usr/bin/sh", ("usr", "bin", "sh")),
    ("./usr/bin/sh", ("usr", "bin", "sh")),
    ("usr//bin/./sh/", ("usr", "bin", "sh")),
    ("./", ()),
    (".", ()),
    ("..foo/bar..", ("..foo", "bar..")),
    (".wh.x", (".wh.x",)),
])
def test_member_names_become_components(name, parts):
    assert split_member_name(name) == parts


@pytest.mark.parametrize("name", ["../x", "a/../../x", "a/..", "..", "/etc/passwd", "//x", "a\0b"])
def test_member_names_that_could_escape_are_refused(name):
    with pytest.raises(LayerError):
        split_member_name(name)


def test_whiteout_names():
    assert whiteout_target(".wh.passwd") == "passwd"
    assert whiteout_target("passwd") is None
    assert whiteout_target(".wh..wh..opq") is None       # the opaque marker, not a deletion
    assert whiteout_target(".wh..wh.plnk") is None        # AUFS bookkeeping
    for bad in (".wh.", ".wh..", ".wh..."):
        with pytest.raises(LayerError):
            whiteout_target(bad)


def test_opaque_and_aufs_markers():
    assert is_opaque_marker(".wh..wh..opq")
    assert not is_opaque_marker(".wh.opq")
    assert is_aufs_meta(".wh..wh.plnk") and is_aufs_meta(".wh..wh.aufs")
    assert not is_aufs_meta(".wh..wh..opq") and not is_aufs_meta(".wh.x")


# ---- mountinfo and mount options ---------------------------------------------------------------

def test_mountinfo_escapes_are_decoded():
    assert unescape_mountinfo(r"/var/a\040b\011c\134d") == "/var/a b\tc\\d"
    assert unescape_mountinfo("/plain") == "/plain"
    assert unescape_mountinfo("/short\\04") == "/short\\04"        # not a full escape: kept


def test_mount_points_come_from_the_fifth_field():
    text = ("22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
            "99 22 0:50 / /var/lib/hako/rw/c\\0401/merged rw - overlay overlay rw,lowerdir=/a\n")
    assert parse_mount_points(text) == ["/", "/var/lib/hako/rw/c 1/merged"]


def test_mount_options_split_into_flags_and_data():
    flags, data = split_options(["ro", "lowerdir=/a:/b", "nodev", "index=off"])
    assert flags == 1 | 4           # MS_RDONLY | MS_NODEV
    assert data == "lowerdir=/a:/b,index=off"
