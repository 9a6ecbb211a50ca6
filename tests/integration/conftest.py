"""Helpers for the runtime's integration tests: the real `hako-runtime` CLI against a real kernel.

    def test_hostname(rt):
        cid, bundle = rt.bundle(["hostname"], hostname="box")
        result = rt("run", cid, "--bundle", bundle)
        assert result.rc == 0 and result.out.strip() == "box"

``rt`` runs the CLI with a private ``--root`` under tmp_path; each container made through
``rt.bundle`` gets the cgroup ``/hako-test/<id>``. At teardown every container under that root is
deleted with ``--force`` and the test fails if a state directory, a cgroup directory or a process
started from one of its bundles is left behind.

The CLI's stdout and stderr go to files, never pipes: a container made by `create` inherits them,
and a pipe would stay open for as long as the container runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from tests import polling
from tests.conftest import needs_root

CLI = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   ".venv", "bin", "hako-runtime")
CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_PARENT = "hako-test"

__all__ = ["CLI", "needs_root", "cgroup_dirs", "cgroup_file", "processes_mentioning", "mountinfo", "gone",
           "wait_for"]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.01, what: str = "condition"):
    """tests.polling.wait_for, polling faster: runtime tests wait on processes and cgroup files."""
    return polling.wait_for(predicate, timeout, interval, what)


def cgroup_dirs(container_id: str) -> list[str]:
    """The container's cgroup directories that exist, one per v1 hierarchy (or the v2 one)."""
    found = []
    for hierarchy in sorted(os.listdir(CGROUP_ROOT)):
        path = os.path.join(CGROUP_ROOT, hierarchy, CGROUP_PARENT, container_id)
        if os.path.isdir(path):
            found.append(path)
    path = os.path.join(CGROUP_ROOT, CGROUP_PARENT, container_id)  # pure v2
    if os.path.isdir(path):
        found.append(path)
    return found


def cgroup_file(container_id: str, controller: str, name: str) -> str:
    """A control file of the container's cgroup: v1 hierarchy ``controller``, or the v2 tree."""
    v1 = os.path.join(CGROUP_ROOT, controller, CGROUP_PARENT, container_id, name)
    if os.path.isdir(os.path.join(CGROUP_ROOT, controller)):
        return v1
    return os.path.join(CGROUP_ROOT, CGROUP_PARENT, container_id, name)


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """(pid, cmdline) of every live process whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state not in (b"Z", b"X"):
            found.append((int(entry), cmdline))
    return found


def gone(pid: int) -> bool:
    """The process has exited: no longer in /proc, or a zombie waiting for its parent.

    A container's init is not the runtime's child once `create` returns, and this host's pid 1
    can take a second or two to reap an orphan, so a zombie counts as gone.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except OSError:
        return True


def mountinfo() -> set[str]:
    """The host's mount table as (mount point, source, fstype) lines, ids and options left out."""
    lines = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-", 6)
            lines.add(f"{fields[4]} {fields[sep + 2]} {fields[sep + 1]} root={fields[3]}")
    return lines


class Result:
    def __init__(self, args: list[str], rc: int, out_path: str, err_path: str):
        self.args = args
        self.rc = rc
        self.out_path = out_path
        self.err_path = err_path
        self.out = read(out_path)
        self.err = read(err_path)

    def reread(self) -> "Result":
        """Read the output files again: a container made by `create` writes to them later."""
        self.out = read(self.out_path)
        self.err = read(self.err_path)
        return self

    def __repr__(self) -> str:
        return f"<Result {self.args} rc={self.rc} out={self.out!r} err={self.err!r}>"


class RuntimeCLI:
    """Runs `hako-runtime --root <tmp>/state ...`; see the module docstring."""

    def __init__(self, tmp_path, make_bundle):
        self.tmp = str(tmp_path)
        self.root = os.path.join(self.tmp, "state")
        self.make_bundle = make_bundle
        self.ids: list[str] = []
        self.bundles: list[str] = []
        self._outputs = 0

    def new_id(self) -> str:
        cid = f"hk{uuid.uuid4().hex[:10]}"
        self.ids.append(cid)
        return cid

    def bundle(self, args: list[str], **changes) -> tuple[str, str]:
        """A new container id and a bundle for it (``make_bundle``'s changes, by key path)."""
        cid = self.new_id()
        changes.setdefault("linux__cgroupsPath", f"/{CGROUP_PARENT}/{cid}")
        bundle = self.make_bundle(args, **changes)
        self.bundles.append(bundle)
        return cid, bundle

    def _files(self) -> tuple[str, str]:
        self._outputs += 1
        base = os.path.join(self.tmp, f"cli-{self._outputs}")
        return base + ".out", base + ".err"

    def __call__(self, *args: str, input: str | None = None, timeout: float = 30, root: str | None = None) -> Result:
        argv = [CLI, "--root", root or self.root, *args]
        out_path, err_path = self._files()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            rc = subprocess.run(argv, stdout=out, stderr=err, timeout=timeout,
                                input=input.encode() if input is not None else None,
                                stdin=None if input is not None else subprocess.DEVNULL).returncode
        return Result(argv, rc, out_path, err_path)

    def ok(self, *args: str, **kwargs) -> Result:
        result = self(*args, **kwargs)
        assert result.rc == 0, result
        return result

    def popen(self, *args: str) -> tuple[subprocess.Popen, str, str]:
        """Start the CLI in the background; returns (process, stdout file, stderr file)."""
        out_path, err_path = self._files()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen([CLI, "--root", self.root, *args], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err)
        return proc, out_path, err_path

    def state(self, cid: str) -> dict:
        return json.loads(self.ok("state", cid).out)

    def started(self, args: list[str], **changes) -> tuple[str, str, int]:
        """create + start a container; returns (id, bundle, host pid of its init)."""
        cid, bundle = self.bundle(args, **changes)
        self.ok("create", cid, "--bundle", bundle)
        self.ok("start", cid)
        return cid, bundle, self.state(cid)["pid"]

    def wait_status(self, cid: str, status: str, timeout: float = 10) -> dict:
        return wait_for(lambda: (s := self.state(cid))["status"] == status and s, timeout,
                        what=f"container {cid} to be {status}")

    # ---- teardown ------------------------------------------------------------------------------

    def cleanup(self) -> list[str]:
        """Delete everything this test made; return what had been left behind."""
        problems = []
        listed = set()
        if os.path.isdir(self.root):
            listed = set(self("list", "-q").out.split())
        for cid in sorted(set(self.ids) | listed):
            if os.path.isdir(os.path.join(self.root, cid)):
                self("delete", "--force", cid)
        for cid in self.ids:
            if os.path.exists(os.path.join(self.root, cid)):
                problems.append(f"state dir of {cid} survived delete --force")
                shutil.rmtree(os.path.join(self.root, cid), ignore_errors=True)
            for path in cgroup_dirs(cid):
                problems.append(f"cgroup {path} left behind")
                _remove_cgroup(path)
        for bundle in self.bundles:
            for pid, cmdline in processes_mentioning(bundle):
                problems.append(f"process {pid} left behind: {cmdline}")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return problems


def _remove_cgroup(path: str) -> None:
    """Kill what is in a leaked cgroup and remove it (only ever called on our own /hako-test/<id>)."""
    try:
        with open(os.path.join(path, "freezer.state"), "w") as f:
            f.write("THAWED")
    except OSError:
        pass
    for _ in range(100):
        try:
            pids = [int(p) for p in read(os.path.join(path, "cgroup.procs")).split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.02)


@pytest.fixture
def rt(tmp_path, make_bundle):
    if os.geteuid() != 0:
        pytest.skip("needs root and a real kernel")
    cli = RuntimeCLI(tmp_path, make_bundle)
    yield cli
    problems = cli.cleanup()
    assert not problems, "test left things behind:\n" + "\n".join(problems)
