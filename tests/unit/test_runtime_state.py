"""The runtime's state directory, ids, and the CLI's flag parsing. No root needed."""

from __future__ import annotations

import argparse
import os
import signal

import pytest

from hako.runtime.create import _host_id
from hako.runtime.errors import AlreadyExists, ConfigError, NotFound
from hako.runtime.process_flags import process_from_flags
from hako.runtime.resources_flags import parse_bytes
from hako.runtime.securejoin import secure_join
from hako.runtime.signals import parse_signal
from hako.runtime.state import ContainerState, StateStore, process_start_time, validate_id


@pytest.mark.parametrize("cid", ["a", "web-1", "A.b_c+d", "x" * 1024])
def test_valid_ids(cid):
    validate_id(cid)


@pytest.mark.parametrize("cid", ["", "-a", ".a", "a/b", "../x", "a b", "é", "x" * 1025])
def test_invalid_ids(cid):
    with pytest.raises(ConfigError, match="invalid container id"):
        validate_id(cid)


def test_store_lifecycle(tmp_path):
    store = StateStore(str(tmp_path / "root"))
    assert store.ids() == []
    store.reserve("c1")
    with pytest.raises(AlreadyExists, match="exists"):
        store.reserve("c1")
    assert store.ids() == []  # reserved, not saved yet
    state = ContainerState(id="c1", bundle="/b", rootfs="/b/rootfs", pid=os.getpid(),
                           init_start_time=process_start_time(os.getpid()), status="running",
                           config={"process": {"args": ["true"]}})
    store.save(state)
    assert store.ids() == ["c1"]
    loaded = store.load("c1")
    assert loaded.status == "running" and loaded.config == state.config
    assert loaded.oci()["pid"] == os.getpid()
    store.remove("c1")
    with pytest.raises(NotFound, match="does not exist"):
        store.load("c1")


def test_status_is_recomputed_from_the_process(tmp_path):
    store = StateStore(str(tmp_path))
    store.reserve("c1")
    # Our own pid with a wrong start time: a recycled pid, so the container has stopped.
    store.save(ContainerState(id="c1", bundle="/b", rootfs="/r", pid=os.getpid(), init_start_time=1,
                              status="running"))
    stopped = store.load("c1")
    assert stopped.status == "stopped" and stopped.oci()["pid"] == 0
    # Alive, with the fifo still there: created.
    store.save(ContainerState(id="c1", bundle="/b", rootfs="/r", pid=os.getpid(),
                              init_start_time=process_start_time(os.getpid()), status="created"))
    os.mkfifo(store.fifo("c1"))
    assert store.load("c1").status == "created"


def test_host_id_of_the_container_root():
    assert _host_id({}, "uid") == 0
    linux = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
             "gidMappings": [{"containerID": 1, "hostID": 5000, "size": 10}]}
    assert _host_id({"linux": linux}, "uid") == 100000
    assert _host_id({"linux": linux}, "gid") == 0  # root is not mapped: stays the host's root


@pytest.mark.parametrize("value, expected", [
    ("TERM", signal.SIGTERM), ("SIGKILL", signal.SIGKILL), ("9", 9), ("usr1", signal.SIGUSR1),
    ("RTMIN+2", signal.SIGRTMIN + 2),
])
def test_parse_signal(value, expected):
    assert parse_signal(value) == expected


@pytest.mark.parametrize("value", ["NOPE", "0", "1000", ""])
def test_parse_signal_rejects(value):
    with pytest.raises(ConfigError, match="invalid signal"):
        parse_signal(value)


@pytest.mark.parametrize("value, expected", [
    ("64m", 64 << 20), ("1g", 1 << 30), ("512", 512), ("1.5k", 1536), ("-1", -1), ("10MB", 10 << 20),
])
def test_parse_bytes(value, expected):
    assert parse_bytes(value) == expected


def test_parse_bytes_rejects():
    with pytest.raises(ConfigError, match="invalid size"):
        parse_bytes("lots")


def _exec_args(**kw):
    defaults = dict(process=None, command=["sh"], tty=False, cwd=None, env=[], user=None,
                    additional_gids=[], cap=[], no_new_privs=False)
    defaults.update(kw)
    return argparse.Namespace(**defaults)


def test_exec_flags_override_the_container_process():
    config = {"process": {"args": ["sleep", "60"], "cwd": "/", "env": ["PATH=/bin"], "terminal": True,
                          "consoleSize": {"height": 1, "width": 1}, "user": {"uid": 0, "gid": 0},
                          "capabilities": {"bounding": ["CAP_KILL"]}}}
    process = process_from_flags(config, _exec_args(
        command=["--", "id", "-u"], cwd="/tmp", env=["A=1"], user="5:6", additional_gids=["7"],
        cap=["CAP_CHOWN"], no_new_privs=True))
    assert process["args"] == ["id", "-u"]
    assert process["cwd"] == "/tmp"
    assert process["env"] == ["PATH=/bin", "A=1"]
    assert process["user"] == {"uid": 5, "gid": 6, "additionalGids": [7]}
    assert process["terminal"] is False and "consoleSize" not in process
    assert process["capabilities"]["bounding"] == ["CAP_CHOWN", "CAP_KILL"]
    assert process["noNewPrivileges"] is True
    assert config["process"]["env"] == ["PATH=/bin"]  # the container's own process is untouched


def test_exec_flags_errors():
    with pytest.raises(ConfigError, match="a command is required"):
        process_from_flags({"process": {}}, _exec_args(command=[]))
    with pytest.raises(ConfigError, match="--user"):
        process_from_flags({"process": {"args": ["x"]}}, _exec_args(user="root"))


def test_secure_join_stays_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/etc", root / "abs")
    os.symlink("../../../../etc", root / "up")
    os.symlink("loop", root / "loop")
    assert secure_join(str(root), "/etc/passwd") == str(root / "etc/passwd")
    assert secure_join(str(root), "../../etc") == str(root / "etc")
    assert secure_join(str(root), "/abs/shadow") == str(root / "etc/shadow")
    assert secure_join(str(root), "/up/x") == str(root / "etc/x")
    with pytest.raises(OSError, match="too many levels"):
        secure_join(str(root), "/loop")
