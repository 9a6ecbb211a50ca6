"""Seccomp filters loaded into a real (forked) process; the child reports syscall results by pipe.

Root is not required: without it the child sets no_new_privs first, which seccomp(2) then accepts.
Each test runs three ways: loading through libseccomp, through the BPF cache inside the child, and
with the program built on the parent's side and installed by the child (the runtime's way).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import socket
import traceback

import pytest

from hako.containers.seccomp_profile import default_profile, to_oci
from hako.runtime import seccomp as rs

sc = pytest.importorskip("seccomp")

DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
CLONE_NEWUSER = 0x10000000
KEYCTL_GET_KEYRING_ID = 0
KEY_SPEC_PROCESS_KEYRING = -2
KEY_SPEC_SESSION_KEYRING = -3
ADDR_NO_RANDOMIZE = 0x0040000
READ_IMPLIES_EXEC = 0x0400000
PER_QUERY = 0xFFFFFFFF
AF_VSOCK = 40
PR_GET_NO_NEW_PRIVS = 39
PR_SET_NO_NEW_PRIVS = 38

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {name: sc.resolve_syscall(sc.Arch.NATIVE, name) for name in (
    "getpid", "unshare", "keyctl", "add_key", "mount", "clone3", "personality", "getpriority", "socket",
)}


def syscall(name: str, *args) -> list[int]:
    """[return value, errno] of the raw syscall, errno 0 on success."""
    ctypes.set_errno(0)
    ret = libc.syscall(ctypes.c_long(NR[name]), *args)
    return [ret, ctypes.get_errno() if ret == -1 else 0]


@pytest.fixture(params=["libseccomp", "bpf-cache", "host-side-program"])
def loader(request, tmp_path):
    """spec -> what the child runs to install it."""
    cache = str(tmp_path / "seccomp-cache")
    if request.param == "libseccomp":
        return lambda spec: lambda: rs.load(spec)
    if request.param == "bpf-cache":  # the child builds on a miss, exports, installs the BPF
        return lambda spec: lambda: rs.load(spec, cache_dir=cache)

    def host_side(spec):  # as the runtime does it: build before forking, install in the child
        program, flags = rs.bpf_program(spec, cache), rs.kernel_flags(spec)
        return lambda: rs.load_program(program, flags)
    return host_side


def in_filtered_child(loader, spec: dict, probe) -> tuple[int, dict | None]:
    """Fork; the child loads ``spec`` and runs ``probe()``; returns (wait status, probe's dict)."""
    install = loader(spec)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(r)
        try:
            if os.geteuid() != 0:
                libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            install()
            result = {"ok": probe()}
        except BaseException:
            result = {"error": traceback.format_exc()}
        try:
            os.write(w, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        return status, None
    result = json.loads(b"".join(chunks))
    assert "error" not in result, result["error"]
    return status, result["ok"]


def docker_default() -> dict:
    return to_oci(default_profile(), DOCKER_DEFAULT_CAPS)


def test_docker_default_profile_blocks_privileged_syscalls(loader, tmp_path):
    target = tmp_path / "written"

    def probe():
        fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"still works")
        os.close(fd)
        child = os.fork()  # clone without namespace flags passes the MASKED_EQ rule
        if child == 0:
            os._exit(7)
        _, child_status = os.waitpid(child, 0)
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.close()
        return {
            "getpid": [syscall("getpid")[0], os.getpid()],
            "file": target.read_text(),
            "fork": os.waitstatus_to_exitcode(child_status),
            "nnp": libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
            "unshare": syscall("unshare", ctypes.c_ulong(CLONE_NEWUSER)),
            "keyctl": syscall("keyctl", ctypes.c_long(KEYCTL_GET_KEYRING_ID),
                              ctypes.c_long(KEY_SPEC_SESSION_KEYRING), ctypes.c_long(0)),
            "add_key": syscall("add_key", b"user", b"hako-test", b"x", ctypes.c_size_t(1),
                               ctypes.c_long(KEY_SPEC_PROCESS_KEYRING)),
            "mount": syscall("mount", b"none", b"/nonexistent-hako", b"tmpfs", ctypes.c_ulong(0), None),
            "clone3": syscall("clone3", None, ctypes.c_size_t(0)),
            "personality_query": syscall("personality", ctypes.c_ulong(PER_QUERY)),
            "personality_set": syscall("personality", ctypes.c_ulong(ADDR_NO_RANDOMIZE)),
            "socket_vsock": syscall("socket", ctypes.c_long(AF_VSOCK), ctypes.c_long(socket.SOCK_STREAM),
                                    ctypes.c_long(0)),
        }

    status, got = in_filtered_child(loader, docker_default(), probe)
    assert os.waitstatus_to_exitcode(status) == 0
    assert got["getpid"][0] == got["getpid"][1] > 0
    assert got["file"] == "still works"
    assert got["fork"] == 7
    if os.geteuid() == 0:
        assert got["nnp"] == 0  # the filter leaves no_new_privs to the runtime
    for name in ("unshare", "keyctl", "add_key", "mount", "personality_set", "socket_vsock"):
        assert got[name] == [-1, errno.EPERM], name
    assert got["clone3"] == [-1, errno.ENOSYS]  # Docker's profile: make glibc fall back to clone
    assert got["personality_query"][1] == 0


@pytest.mark.parametrize("flags", [[], ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"]])
def test_custom_errno_rule(loader, tmp_path, flags):
    spec = {
        "defaultAction": "SCMP_ACT_ALLOW", "flags": flags,
        # mkdirat too: glibc uses it where the arch has no mkdir (aarch64), where "mkdir" is skipped
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES}],
    }

    def probe():
        try:
            os.mkdir(tmp_path / "denied")
        except OSError as exc:
            mkdir = exc.errno
        else:
            mkdir = 0
        (tmp_path / "file").write_text("ok")
        return {"mkdir": mkdir, "exists": (tmp_path / "denied").exists(), "file": (tmp_path / "file").read_text()}

    status, got = in_filtered_child(loader, spec, probe)
    assert os.waitstatus_to_exitcode(status) == 0
    assert got == {"mkdir": errno.EACCES, "exists": False, "file": "ok"}
    os.mkdir(tmp_path / "denied")  # the parent is unaffected


def test_argument_filters(loader):
    spec = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        # two conditions on argument 0: OR (split into two rules, as runc does)
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EINVAL, "args": [
            {"index": 0, "value": ADDR_NO_RANDOMIZE, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": READ_IMPLIES_EXEC, "op": "SCMP_CMP_EQ"}]},
        # conditions on arguments 0 and 1: AND
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES, "args": [
            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 4242, "op": "SCMP_CMP_EQ"}]},
    ]}

    def probe():
        return {
            "personality_a": syscall("personality", ctypes.c_ulong(ADDR_NO_RANDOMIZE)),
            "personality_b": syscall("personality", ctypes.c_ulong(READ_IMPLIES_EXEC)),
            "personality_query": syscall("personality", ctypes.c_ulong(PER_QUERY)),
            "getpriority_both": syscall("getpriority", ctypes.c_long(0), ctypes.c_long(4242)),
            "getpriority_self": syscall("getpriority", ctypes.c_long(0), ctypes.c_long(0)),
            "getpriority_one": syscall("getpriority", ctypes.c_long(2), ctypes.c_long(4242)),
        }

    status, got = in_filtered_child(loader, spec, probe)
    assert os.waitstatus_to_exitcode(status) == 0
    assert got["personality_a"] == [-1, errno.EINVAL]
    assert got["personality_b"] == [-1, errno.EINVAL]
    assert got["personality_query"][1] == 0
    assert got["getpriority_both"] == [-1, errno.EACCES]
    assert got["getpriority_self"][1] == 0
    assert got["getpriority_one"][1] != errno.EACCES


def test_kill_process_action(loader):
    spec = {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}
    status, got = in_filtered_child(loader, spec, lambda: os.getppid())
    assert got is None
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS
