"""Pure logic of the runtime: secure path joining, mount options, signal names, size flags."""

from __future__ import annotations

import os

import pytest

from hako.linux import syscalls as sc
from hako.runtime import mountopts
from hako.runtime.errors import ConfigError
from hako.runtime.resources_flags import parse_bytes
from hako.runtime.securejoin import secure_join
from hako.runtime.signals import parse_signal


@pytest.fixture
def root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root\n")
    os.symlink("/etc", tmp_path / "abs-link")          # absolute: resolved inside root
    os.symlink("../../../../etc", tmp_path / "up-link")  # climbs past root: stops at root
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    return tmp_path


def test_plain_path_is_joined(root):
    assert secure_join(str(root), "/etc/passwd") == f"{root}/etc/passwd"


def test_dotdot_cannot_leave_root(root):
    assert secure_join(str(root), "/../../etc/passwd") == f"{root}/etc/passwd"


def test_absolute_symlink_is_resolved_inside_root(root):
    assert secure_join(str(root), "/abs-link/passwd") == f"{root}/etc/passwd"


def test_relative_symlink_climbing_out_stops_at_root(root):
    assert secure_join(str(root), "up-link/passwd") == f"{root}/etc/passwd"


def test_missing_components_are_kept(root):
    assert secure_join(str(root), "/abs-link/new/dir") == f"{root}/etc/new/dir"


def test_symlink_loop_is_an_error(root):
    with pytest.raises(OSError):
        secure_join(str(root), "/loop-a/x")


def test_root_itself(root):
    assert secure_join(str(root), "/") == str(root)


def test_mount_options_flags_propagation_and_data():
    opts = mountopts.parse(["nosuid", "ro", "rw", "noexec", "rshared", "mode=755", "size=64k"])
    assert opts.flags == sc.MS_NOSUID | sc.MS_NOEXEC
    assert opts.propagation == [sc.MS_SHARED | sc.MS_REC]
    assert opts.data_string == "mode=755,size=64k"
    assert not opts.is_bind


def test_rbind_is_a_recursive_bind():
    opts = mountopts.parse(["rbind", "ro"])
    assert opts.is_bind
    assert opts.flags == sc.MS_BIND | sc.MS_REC | sc.MS_RDONLY
    assert opts.data_string is None


@pytest.mark.parametrize("value,number", [("TERM", 15), ("SIGKILL", 9), ("9", 9), ("hup", 1), (2, 2)])
def test_signal_names(value, number):
    assert parse_signal(value) == number


@pytest.mark.parametrize("value", ["SIGNOPE", "0", "999", ""])
def test_bad_signals(value):
    with pytest.raises(ConfigError):
        parse_signal(value)


@pytest.mark.parametrize("value,size", [("512m", 512 << 20), ("1g", 1 << 30), ("100", 100), ("-1", -1),
                                        ("1.5k", 1536), ("64MB", 64 << 20)])
def test_sizes(value, size):
    assert parse_bytes(value) == size


def test_bad_size():
    with pytest.raises(ConfigError):
        parse_bytes("lots")
