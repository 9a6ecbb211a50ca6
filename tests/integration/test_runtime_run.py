"""`hako-runtime run` seen from inside the container: identity, exit status, the mount table and
/dev, the process settings (user, cwd, env, umask, rlimits, oom score), sysctls and UTS names,
joining a network namespace by path, terminals, and `features` / `spec`."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from hako.runtime.defaults import default_mounts

from .conftest import CLI, needs_root, wait_for

pytestmark = [pytest.mark.root, needs_root]


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


# ---- 1. identity and exit status ------------------------------------------------------------

def test_hostname_pid1_and_exit_status(rt):
    cid, bundle = rt.bundle(["sh", "-c", "hostname; echo $$; exit 3"], hostname="box-one")
    result = rt("run", cid, "--bundle", bundle)
    assert result.rc == 3, result
    assert lines(result.out) == ["box-one", "1"]
    assert not os.path.exists(os.path.join(rt.root, cid))  # run deletes the container after it exits


def test_exit_zero_and_output_of_a_plain_binary(rt):
    cid, bundle = rt.bundle(["echo", "hello", "world"])
    result = rt.ok("run", cid, "--bundle", bundle)
    assert result.out == "hello world\n"
    assert result.err == ""


def test_signal_killed_container_gives_128_plus_signal(rt):
    cid, bundle = rt.bundle(["sleep", "60"])
    proc, out, err = rt.popen("run", cid, "--bundle", bundle)
    try:
        wait_for(lambda: rt("state", cid).rc == 0 and rt.state(cid)["status"] == "running",
                 what="the container to run")
        rt.ok("kill", cid, "KILL")
        assert proc.wait(timeout=10) == 128 + 9
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_forwards_sigterm_to_a_process_that_handles_it(rt):
    cid, bundle = rt.bundle(["sh", "-c", "trap 'echo got-term; exit 42' TERM; echo ready; "
                                         "while true; do sleep 0.05; done"])
    proc, out, _ = rt.popen("run", cid, "--bundle", bundle)
    try:
        wait_for(lambda: "ready" in open(out).read(), what="the trap to be set")
        proc.terminate()
        assert proc.wait(timeout=10) == 42
        assert "got-term" in open(out).read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---- 2. mounts and /dev ---------------------------------------------------------------------

MOUNT_PROBE = r"""
cat /proc/self/mountinfo
echo ---
touch /written-into-root 2>&1 || true
touch /dev/shm/ok && echo shm=writable
for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
  [ -e $f ] && echo masked=$f:$(cat $f | wc -c)
done
echo 1 2>&1 > /proc/sys/net/ipv4/ip_forward || true
for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo chardev=$d; done
echo ptmx=$(readlink /dev/ptmx)
echo fd=$(readlink /dev/fd)
echo stdin=$(readlink /dev/stdin)
echo firmware=$(ls -A /sys/firmware | wc -l)
"""


def parse_mountinfo(text: str) -> dict[str, dict]:
    """mount point -> {fstype, source, options (per-mount and super)}; the last mount wins."""
    mounts = {}
    for line in lines(text):
        fields = line.split()
        sep = fields.index("-", 6)
        mounts[fields[4]] = {"fstype": fields[sep + 1], "source": fields[sep + 2],
                             "options": set(fields[5].split(",")), "super": set(fields[sep + 3].split(","))}
    return mounts


def test_mount_table_and_dev(rt):
    cid, bundle = rt.bundle(["sh", "-c", MOUNT_PROBE])
    result = rt.ok("run", cid, "--bundle", bundle)
    table, _, probe = result.out.partition("---\n")
    mounts = parse_mountinfo(table)
    assert mounts["/proc"]["fstype"] == "proc"
    assert mounts["/dev"]["fstype"] == "tmpfs"
    assert mounts["/dev/pts"]["fstype"] == "devpts"
    assert mounts["/dev/shm"]["fstype"] == "tmpfs"
    assert mounts["/dev/mqueue"]["fstype"] == "mqueue"
    assert mounts["/sys"]["fstype"] == "sysfs" and "ro" in mounts["/sys"]["options"]
    assert "ro" in mounts["/"]["options"]  # root.readonly
    assert "ro" in mounts["/proc/sys"]["options"]  # readonlyPaths
    masked = dict(line.split("=")[1].split(":") for line in lines(probe) if line.startswith("masked="))
    assert masked and set(masked.values()) == {"0"}, masked  # maskedPaths: files covered with /dev/null
    assert all(path in mounts for path in masked)
    assert mounts["/sys/firmware"]["fstype"] == "tmpfs" and "ro" in mounts["/sys/firmware"]["options"]
    out = lines(probe)
    assert any("Read-only file system" in line and "written-into-root" in line for line in out), out
    assert "shm=writable" in out
    assert any("ip_forward" in line and "Read-only file system" in line for line in out), out
    assert {line.split("=")[1] for line in out if line.startswith("chardev=")} == {
        "null", "zero", "full", "random", "urandom", "tty"}
    assert "ptmx=pts/ptmx" in out
    assert "fd=/proc/self/fd" in out
    assert "stdin=/proc/self/fd/0" in out
    assert "firmware=0" in out


def test_writable_root_when_not_readonly(rt):
    probe = "awk '$5 == \"/\"' /proc/self/mountinfo; touch /hako-rw-probe && rm /hako-rw-probe && echo writable"
    cid, bundle = rt.bundle(["sh", "-c", probe], root__readonly=False)
    out = lines(rt.ok("run", cid, "--bundle", bundle).out)
    assert len(out) == 2, out  # one root mount, nothing stacked on it
    assert "rw" in out[0].split()[5].split(",")
    assert out[1] == "writable"


def test_bind_mount_from_the_host(rt, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in.txt").write_text("from the host\n")
    mounts = [*default_mounts(),
              {"destination": "/data", "type": "bind", "source": str(shared), "options": ["rbind", "rw"]},
              {"destination": "/data-ro", "type": "bind", "source": str(shared), "options": ["rbind", "ro"]}]
    cid, bundle = rt.bundle(["sh", "-c", "cat /data/in.txt; echo back > /data/out.txt; "
                                         "touch /data-ro/x 2>&1 || true"], mounts=mounts)
    result = rt.ok("run", cid, "--bundle", bundle)
    assert result.out.splitlines()[0] == "from the host"
    assert "Read-only file system" in result.out
    assert (shared / "out.txt").read_text() == "back\n"


def test_config_devices_are_created(rt):
    devices = [{"path": "/dev/hako-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600,
                "uid": 7, "gid": 8}]
    cid, bundle = rt.bundle(["sh", "-c", "ls -ln /dev/hako-null; echo x > /dev/hako-null && echo written"],
                            linux__devices=devices, process__user={"uid": 7, "gid": 8},
                            linux__resources={"devices": [{"allow": False, "access": "rwm"},
                                                          {"allow": True, "type": "c", "major": 1, "minor": 3,
                                                           "access": "rw"}]})
    out = lines(rt.ok("run", cid, "--bundle", bundle).out)
    fields = out[0].split()
    assert fields[0] == "crw-------" and fields[2:6] == ["7", "8", "1,", "3"], out
    assert out[1] == "written"


def test_run_detached_no_pivot_and_preserved_fds(rt, tmp_path):
    cid, bundle = rt.bundle(["sh", "-c", "echo to-fd-3 >&3; touch /x 2> /dev/shm/touch; echo $$ > /dev/shm/pid; "
                                         "exec sleep 60"])
    extra = tmp_path / "fd3"
    out_path = tmp_path / "run.out"
    # A shell opens the file as the CLI's fd 3: this process's own fd 3 may be pytest's.
    argv = ["sh", "-c", 'exec "$@" 3>"$FD3"', "sh", CLI, "--root", rt.root, "run", "-d", "--no-pivot",
            "--preserve-fds", "1", cid, "--bundle", bundle]
    with open(out_path, "w") as out:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                              env=dict(os.environ, FD3=str(extra)), timeout=30)
    assert proc.returncode == 0, out_path.read_text()
    state = rt.state(cid)
    assert state["status"] == "running"
    wait_for(lambda: extra.read_text() == "to-fd-3\n", what="the container to write to fd 3")
    wait_for(lambda: os.path.exists(f"/proc/{state['pid']}/root/dev/shm/pid"), what="the container's marks")
    with open(f"/proc/{state['pid']}/root/dev/shm/pid") as f:
        assert f.read().strip() == "1"
    with open(f"/proc/{state['pid']}/root/dev/shm/touch") as f:
        assert "Read-only file system" in f.read()  # root.readonly holds without pivot_root too


def test_kill_a_created_container(rt):
    cid, bundle = rt.bundle(["sleep", "60"])
    rt.ok("create", cid, "--bundle", bundle)
    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    assert rt("start", cid).rc != 0


# ---- 4. the process: user, cwd, env, umask, rlimits, oom score --------------------------------

def test_user_and_additional_gids(rt):
    cid, bundle = rt.bundle(["sh", "-c", "id -u; id -g; id -G; id"],
                            process__user={"uid": 1000, "gid": 1000, "additionalGids": [5, 6]})
    out = lines(rt.ok("run", cid, "--bundle", bundle).out)
    assert out[0] == "1000"
    assert out[1] == "1000"
    assert set(out[2].split()) == {"1000", "5", "6"}
    assert out[3].startswith("uid=1000 gid=1000 groups=")


def test_cwd_env_umask_and_rlimits(rt):
    cid, bundle = rt.bundle(
        ["sh", "-c", "pwd; echo FOO=$FOO; echo BAR=$BAR; umask; ulimit -n; ulimit -Hn; ulimit -c"],
        process__cwd="/tmp", process__env=["PATH=/bin:/sbin", "FOO=bar baz", "BAR="],
        process__user={"uid": 0, "gid": 0, "umask": 0o027},
        process__rlimits=[{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
                          {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}])
    out = lines(rt.ok("run", cid, "--bundle", bundle).out)
    assert out == ["/tmp", "FOO=bar baz", "BAR=", "0027", "512", "1000", "0"]


def test_missing_cwd_is_created_even_on_a_readonly_root(rt):
    cwd = f"/hako-cwd-{uuid.uuid4().hex[:8]}/sub"
    cid, bundle = rt.bundle(["pwd"], process__cwd=cwd)
    assert rt.make_bundle.read(bundle)["root"]["readonly"] is True
    result = rt("run", cid, "--bundle", bundle)
    shutil.rmtree(os.path.join(rt.make_bundle.rootfs, cwd.split("/")[1]), ignore_errors=True)
    assert result.rc == 0, result
    assert result.out == f"{cwd}\n"


def test_oom_score_adj(rt):
    cid, bundle = rt.bundle(["cat", "/proc/self/oom_score_adj"], process__oomScoreAdj=500)
    assert rt.ok("run", cid, "--bundle", bundle).out == "500\n"


def test_oom_score_adj_refused_fails_create_cleanly(rt):
    with open("/proc/self/status") as f:
        cap_eff = int(next(line for line in f if line.startswith("CapEff:")).split()[1], 16)
    if cap_eff & (1 << 24):  # CAP_SYS_RESOURCE lets us lower it: nothing to refuse
        pytest.skip("this host allows negative oom_score_adj")
    cid, bundle = rt.bundle(["true"], process__oomScoreAdj=-500)
    result = rt("create", cid, "--bundle", bundle)
    assert result.rc != 0
    assert len(lines(result.err)) == 1, result
    assert "oomScoreAdj" in result.err and "-500" in result.err
    assert rt("state", cid).rc != 0


# ---- 15. sysctl, UTS names, namespaces by path --------------------------------------------------

def test_sysctl_hostname_and_domainname(rt):
    cid, bundle = rt.bundle(
        ["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward; hostname; cat /proc/sys/kernel/domainname"],
        hostname="box-two", domainname="example.test", linux__sysctl={"net.ipv4.ip_forward": "1"})
    assert lines(rt.ok("run", cid, "--bundle", bundle).out) == ["1", "box-two", "example.test"]
    with open("/proc/sys/kernel/hostname") as f:
        assert f.read().strip() != "box-two"


@pytest.fixture
def netns():
    name = f"hako-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "hkv0", "type", "veth", "peer", "name", "hkv1"],
                       check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def test_join_network_namespace_by_path(rt, netns):
    path = f"/run/netns/{netns}"
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    namespaces.append({"type": "network", "path": path})
    cid, bundle = rt.bundle(["sh", "-c", "readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1"],
                            linux__namespaces=namespaces)
    out = lines(rt.ok("run", cid, "--bundle", bundle).out)
    assert out[0] == f"net:[{os.stat(path).st_ino}]"
    inside = sorted(name.strip() for name in out[1:])
    listed = subprocess.run(["ip", "-n", netns, "-o", "link", "show"], capture_output=True, text=True,
                            check=True).stdout
    host_view = sorted(line.split(":")[1].strip().split("@")[0] for line in listed.splitlines())
    assert inside == host_view == ["hkv0", "hkv1", "lo"]


# ---- 14. terminals ---------------------------------------------------------------------------

def read_until_eof(fd: int, timeout: float = 10) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the last slave fd is closed
            break
        if not chunk:
            break
        data += chunk
    return data


def test_console_socket_receives_the_pty_master(rt, tmp_path):
    sock_path = str(tmp_path / "console.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    listener.settimeout(10)
    master = None
    try:
        cid, bundle = rt.bundle(["sh", "-c", "tty; stty size; echo hi"], process__terminal=True,
                                process__consoleSize={"height": 33, "width": 77})
        rt.ok("create", cid, "--bundle", bundle, "--console-socket", sock_path)
        conn, _ = listener.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        assert len(fds) == 1
        master = fds[0]
        rt.ok("start", cid)
        out = read_until_eof(master).decode().replace("\r", "").split("\n")
        assert out[0] in ("/dev/console", "/dev/pts/0")
        assert out[1] == "33 77"
        assert out[2] == "hi"
        rt.wait_status(cid, "stopped")
    finally:
        listener.close()
        if master is not None:
            os.close(master)


def run_under_pty(argv: list[str], keystrokes: bytes, timeout: float = 15) -> tuple[int, bytes]:
    """Run ``argv`` with a new pty as its stdio; type ``keystrokes``; return (status, output)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output = b""
    try:
        time.sleep(0.3)
        os.write(master, keystrokes)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    output += os.read(master, 4096)
                except OSError:
                    break
        status = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return status, output


def test_exec_with_a_terminal(rt):
    cid, _, _ = rt.started(["sleep", "60"])
    status, output = run_under_pty([CLI, "--root", rt.root, "exec", "-t", cid, "sh"],
                                   b"tty; echo in-$((6*7)); exit 3\n")
    text = output.decode(errors="replace")
    assert status == 3, text
    assert "in-42" in text and "/dev/pts/" in text


# ---- 18. features and spec ---------------------------------------------------------------------

def test_features(rt):
    features = json.loads(rt.ok("features").out)
    assert features["ociVersionMin"].startswith("1.0")
    assert features["ociVersionMax"].startswith("1.")
    assert {"pid", "network", "mount", "ipc", "uts", "user", "cgroup"} <= set(features["linux"]["namespaces"])
    assert "CAP_SYS_ADMIN" in features["linux"]["capabilities"]


def test_spec_writes_a_config_that_run_accepts_with_a_terminal(rt, tmp_path, busybox_rootfs):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    rt.ok("spec", "--bundle", str(bundle))
    assert rt("spec", "--bundle", str(bundle)).rc != 0  # refuses to overwrite
    config = json.loads((bundle / "config.json").read_text())
    assert config["process"]["terminal"] is True and config["root"]["path"] == "rootfs"
    os.symlink(busybox_rootfs, bundle / "rootfs")
    cid = rt.new_id()
    rt.bundles.append(str(bundle))
    config["linux"]["cgroupsPath"] = f"/hako-test/{cid}"
    (bundle / "config.json").write_text(json.dumps(config))
    status, output = run_under_pty([CLI, "--root", rt.root, "run", cid, "--bundle", str(bundle)],
                                   b"echo out-$((40+2)); tty; exit 7\n")
    text = output.decode(errors="replace")
    assert status == 7, text
    assert "out-42" in text
    assert "/dev/pts/0" in text or "/dev/console" in text


def test_a_new_network_namespace_has_loopback_up_as_under_runc(rt):
    cid, bundle = rt.bundle(["sh", "-c", "cat /sys/class/net/lo/operstate /sys/class/net/lo/flags; ls /sys/class/net"])
    result = rt.ok("run", cid, "--bundle", bundle)
    state, flags, *links = lines(result.out)
    assert int(flags, 16) & 0x1, result.out      # IFF_UP
    assert state in ("unknown", "up")            # lo has no carrier to report
    assert links == ["lo"]
