"""The volume service over a real SQLite store in a temporary directory (no mounts needed)."""

from __future__ import annotations

import os

import pytest

from hako.engine.store import Store
from hako.errdefs import Conflict, InvalidArgument, NotFound
from hako.volumes import ANONYMOUS_LABEL, VolumeService
from hako.volumes.local import check_options, mount_flags
from hako.linux import syscalls


@pytest.fixture
def setup(tmp_path):
    store = Store(str(tmp_path / "hako.db"))
    users: dict[str, list[str]] = {}
    service = VolumeService(store, str(tmp_path / "volumes"), users=lambda name: users.get(name, []))
    yield service, users, store, tmp_path
    store.close()


def test_create_is_idempotent_and_persists(setup):
    service, _, store, tmp_path = setup
    vol = service.create("v1", labels={"a": "b"})
    assert os.path.isdir(vol.mountpoint) and vol.mountpoint == str(tmp_path / "volumes" / "v1" / "_data")
    assert service.create("v1") is vol
    anon = service.create(None, anonymous=True)
    assert len(anon.name) == 64 and anon.labels == {ANONYMOUS_LABEL: ""}
    again = VolumeService(store, str(tmp_path / "volumes"), users=lambda n: [])
    assert again.get("v1").labels == {"a": "b"} and again.get(anon.name).anonymous


def test_remove_refuses_in_use_and_force_only_forgives_missing(setup):
    service, users, _, _ = setup
    vol = service.create("v1")
    users["v1"] = ["c1"]
    for force in (False, True):
        with pytest.raises(Conflict, match=r"remove v1: volume is in use - \[c1\]"):
            service.remove("v1", force=force)
    assert os.path.isdir(vol.mountpoint)
    users.clear()
    service.remove("v1")
    assert not os.path.exists(os.path.dirname(vol.mountpoint))
    with pytest.raises(NotFound, match="get v1: no such volume"):
        service.remove("v1")
    service.remove("v1", force=True)


def test_prune_and_sweep(setup):
    service, users, store, tmp_path = setup
    service.create("named")
    anon = service.create(None, anonymous=True).name
    used = service.create(None, anonymous=True).name
    users[used] = ["c"]
    deleted, _ = service.prune(lambda v: v.anonymous)
    assert deleted == [anon]
    os.makedirs(tmp_path / "volumes" / "stray" / "_data")
    VolumeService(store, str(tmp_path / "volumes"), users=lambda n: [])
    assert not os.path.exists(tmp_path / "volumes" / "stray")


@pytest.mark.parametrize("name", ["a", "-x", "a/b", "a b"])
def test_invalid_names(setup, name):
    service = setup[0]
    with pytest.raises(InvalidArgument, match="includes invalid characters for a local volume name"):
        service.create(name)


@pytest.mark.parametrize("options, message", [
    ({"foo": "1"}, 'invalid option: "foo"'),
    ({"type": "tmpfs"}, 'missing required option: "device"'),
    ({"device": "/x"}, 'missing required option: "type"'),
    ({"o": "bind"}, 'missing required option: "device"'),
    ({"size": "1g"}, "quota size requested but no quota support"),
])
def test_driver_options(options, message):
    with pytest.raises(InvalidArgument, match=message):
        check_options(options)


def test_mount_flags():
    assert mount_flags("bind,ro") == (syscalls.MS_BIND | syscalls.MS_RDONLY, "")
    assert mount_flags("size=64m,uid=1000,noexec") == (syscalls.MS_NOEXEC, "size=64m,uid=1000")
