"""The real docker CLI against hakod: a container's life, and the `run` flags that shape it.

Each test drives `docker` as a user would and checks what the user sees: stdout, the exit
status, and where a flag must change the kernel's view (a cgroup limit, a capability set) the
value the kernel holds, read from the host through /proc/<pid>/cgroup of `.State.Pid`.
"""

from __future__ import annotations

import os
import re
import threading

import pytest

from tests.conftest import needs_root
from tests.compat.polling import poll

pytestmark = needs_root

HEX64 = re.compile(r"^[0-9a-f]{64}$")
# A PID 1 that stops at once on SIGTERM; busybox sleep as PID 1 would ignore it (no handler).
GRACEFUL = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


def ok(hakod, *args, **kwargs) -> str:
    """stdout of a docker command that must succeed."""
    return hakod.docker(*args, check=True, **kwargs).stdout


def inspect(hakod, fmt: str, name: str) -> str:
    return ok(hakod, "inspect", "-f", fmt, name).strip()


def run_d(hakod, *args: str) -> str:
    out = ok(hakod, "run", "-d", *args).strip()
    assert HEX64.match(out), out
    return out


def cgroup_file(pid: int, v1_controller: str, v1_name: str, v2_name: str) -> str:
    """The value a cgroup file holds for process ``pid``, found through /proc/<pid>/cgroup."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):          # unified (v2) host
        path = next(p for _, ctrl, p in lines if ctrl == "")
        file = f"/sys/fs/cgroup{path}/{v2_name}"
    else:
        path = next(p for _, ctrl, p in lines if v1_controller in ctrl.split(","))
        file = f"/sys/fs/cgroup/{v1_controller}{path}/{v1_name}"
    with open(file) as f:
        return f.read().strip()


def memory_limit(pid: int) -> str:
    return cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")


def cpu_quota(pid: int) -> str:
    """"quota period" whatever the cgroup version."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return cgroup_file(pid, "cpu", "", "cpu.max")
    return cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "") + " " + cgroup_file(pid, "cpu", "cpu.cfs_period_us", "")


def pids_max(pid: int) -> str:
    return cgroup_file(pid, "pids", "pids.max", "pids.max")


# --- create, start, stop, restart, rm -----------------------------------------------------------

def test_create_then_start_then_stop_then_rm(hakod):
    cid = ok(hakod, "create", "--name", "life", "busybox", *GRACEFUL).strip()
    assert HEX64.match(cid)
    assert inspect(hakod, "{{.State.Status}}", "life") == "created"
    assert ok(hakod, "start", "life") == "life\n"
    assert inspect(hakod, "{{.State.Status}} {{.State.Running}}", "life") == "running true"
    assert ok(hakod, "stop", "life") == "life\n"
    assert inspect(hakod, "{{.State.Status}} {{.State.ExitCode}}", "life") == "exited 0"
    assert ok(hakod, "rm", "life") == "life\n"
    result = hakod.docker("inspect", "life")
    assert result.returncode == 1


def test_run_detached_prints_the_id_and_ps_lists_it(hakod):
    cid = run_d(hakod, "--name", "det", "busybox", "sleep", "60")
    assert ok(hakod, "ps", "-q", "--no-trunc") == cid + "\n"
    assert ok(hakod, "ps", "--format", "{{.Names}} {{.Image}} {{.Command}}") == 'det busybox "sleep 60"\n'


def test_stop_escalates_to_sigkill_after_the_timeout(hakod):
    # sleep as PID 1 has no SIGTERM handler, so the kernel ignores the signal: 137 after -t 1.
    run_d(hakod, "--name", "stubborn", "busybox", "sleep", "60")
    assert ok(hakod, "stop", "-t", "1", "stubborn") == "stubborn\n"
    assert inspect(hakod, "{{.State.Status}} {{.State.ExitCode}}", "stubborn") == "exited 137"


def test_stop_timeout_flag_is_the_containers_default(hakod):
    run_d(hakod, "--name", "st", "--stop-timeout", "1", "busybox", "sleep", "60")
    assert inspect(hakod, "{{.Config.StopTimeout}}", "st") == "1"
    assert ok(hakod, "stop", "st") == "st\n"        # no -t: the container's own 1 s, then SIGKILL
    assert inspect(hakod, "{{.State.ExitCode}}", "st") == "137"


def test_restart_runs_a_new_process(hakod):
    run_d(hakod, "--name", "rs", "busybox", *GRACEFUL)
    first = inspect(hakod, "{{.State.Pid}} {{.State.StartedAt}}", "rs")
    assert ok(hakod, "restart", "-t", "5", "rs") == "rs\n"
    second = inspect(hakod, "{{.State.Pid}} {{.State.StartedAt}}", "rs")
    assert inspect(hakod, "{{.State.Status}}", "rs") == "running"
    assert first.split()[0] != second.split()[0]
    assert first.split()[1] != second.split()[1]
    assert ok(hakod, "container", "restart", "rs") == "rs\n"   # the subcommand form


def test_kill_with_a_harmless_signal_leaves_it_running(hakod):
    run_d(hakod, "--name", "usr1", "busybox", "sh", "-c",
          "trap 'echo got-usr1 > /tmp/mark' USR1; while true; do sleep 0.1; done")
    assert ok(hakod, "kill", "-s", "USR1", "usr1") == "usr1\n"
    poll(lambda: hakod.docker("exec", "usr1", "cat", "/tmp/mark").stdout == "got-usr1\n")
    assert inspect(hakod, "{{.State.Status}}", "usr1") == "running"
    assert ok(hakod, "kill", "usr1") == "usr1\n"
    assert ok(hakod, "wait", "usr1") == "137\n"
    assert inspect(hakod, "{{.State.Status}} {{.State.ExitCode}}", "usr1") == "exited 137"


def test_pause_and_unpause(hakod):
    run_d(hakod, "--name", "pz", "busybox", "sleep", "60")
    assert ok(hakod, "pause", "pz") == "pz\n"
    assert inspect(hakod, "{{.State.Status}} {{.State.Paused}}", "pz") == "paused true"
    assert ok(hakod, "ps", "--format", "{{.Status}}").strip().endswith("(Paused)")
    assert ok(hakod, "unpause", "pz") == "pz\n"
    assert inspect(hakod, "{{.State.Status}} {{.State.Paused}}", "pz") == "running false"
    assert ok(hakod, "exec", "pz", "echo", "alive") == "alive\n"


def test_rm_several_at_once_and_force(hakod):
    for name in ("rm1", "rm2"):
        ok(hakod, "create", "--name", name, "busybox", "true")
    run_d(hakod, "--name", "rm3", "busybox", "sleep", "60")
    assert sorted(ok(hakod, "rm", "rm1", "rm2").split()) == ["rm1", "rm2"]
    assert ok(hakod, "rm", "-f", "rm3") == "rm3\n"
    assert ok(hakod, "ps", "-aq") == ""


def test_wait_prints_the_exit_code(hakod):
    run_d(hakod, "--name", "w1", "busybox", "sh", "-c", "exit 3")
    ok(hakod, "create", "--name", "w2", "busybox", "sh", "-c", "exit 4")
    ok(hakod, "start", "w2")
    assert ok(hakod, "wait", "w1", "w2") == "3\n4\n"


def test_rename(hakod):
    run_d(hakod, "--name", "before", "busybox", "sleep", "60")
    assert ok(hakod, "rename", "before", "after") == ""
    assert inspect(hakod, "{{.Name}}", "after") == "/after"
    assert hakod.docker("inspect", "before").returncode == 1
    assert ok(hakod, "container", "rename", "after", "again") == ""
    assert ok(hakod, "ps", "--format", "{{.Names}}") == "again\n"


def test_rm_with_autoremove_leaves_nothing_after_a_normal_exit(hakod):
    assert ok(hakod, "run", "--rm", "--name", "gone", "busybox", "echo", "bye") == "bye\n"
    assert ok(hakod, "ps", "-aq") == ""


# --- run flags ---------------------------------------------------------------------------------

def test_env_envfile_workdir_user_entrypoint(hakod, tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("E1=one\n# a comment\nE2=two words\n")
    out = ok(hakod, "run", "--rm", "-e", "A=1", "--env-file", str(env_file), "-w", "/tmp/work",
             "-u", "1000:1000", "busybox", "sh", "-c", 'echo "$A|$E1|$E2"; pwd; id -u; id -g')
    assert out == "1|one|two words\n/tmp/work\n1000\n1000\n"
    assert ok(hakod, "run", "--rm", "--entrypoint", "echo", "busybox", "hi", "there") == "hi there\n"


def test_bind_mount_read_write_and_read_only(hakod, tmp_path):
    host = tmp_path / "share"
    host.mkdir()
    (host / "in").write_text("from-host\n")
    out = ok(hakod, "run", "--rm", "-v", f"{host}:/share", "busybox", "sh", "-c",
             "cat /share/in; echo from-container > /share/out")
    assert out == "from-host\n"
    assert (host / "out").read_text() == "from-container\n"
    result = hakod.docker("run", "--rm", "-v", f"{host}:/share:ro", "busybox", "sh", "-c", "echo x > /share/ro")
    assert result.returncode == 1
    assert "Read-only file system" in result.stderr
    assert not (host / "ro").exists()


def test_resource_limits_reach_the_cgroup(hakod):
    run_d(hakod, "--name", "lim", "-m", "64m", "--cpus", "0.5", "--pids-limit", "50", "busybox", "sleep", "60")
    pid = int(inspect(hakod, "{{.State.Pid}}", "lim"))
    assert memory_limit(pid) == str(64 * 1024 * 1024)
    assert cpu_quota(pid) == "50000 100000"
    assert pids_max(pid) == "50"
    assert inspect(hakod, "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", "lim") \
        == f"{64 * 1024 * 1024} 500000000 50"


def test_update_changes_the_cgroup_of_a_running_container(hakod):
    run_d(hakod, "--name", "upd", "busybox", "sleep", "60")
    pid = int(inspect(hakod, "{{.State.Pid}}", "upd"))
    assert ok(hakod, "update", "-m", "100m", "--memory-swap", "200m", "--cpus", "0.25", "--pids-limit", "30",
              "upd") == "upd\n"
    assert memory_limit(pid) == str(100 * 1024 * 1024)
    assert cpu_quota(pid) == "25000 100000"
    assert pids_max(pid) == "30"
    assert inspect(hakod, "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", "upd") \
        == f"{100 * 1024 * 1024} 250000000 30"
    assert ok(hakod, "container", "update", "--pids-limit", "40", "upd") == "upd\n"
    assert pids_max(pid) == "40"


def _cap_eff(hakod, *flags: str) -> int:
    out = ok(hakod, "run", "--rm", *flags, "busybox", "grep", "CapEff", "/proc/self/status")
    return int(out.split()[1], 16)


DOCKER_DEFAULT_CAPS = 0xA80425FB
CAP_CHOWN, CAP_NET_ADMIN = 0, 12


def test_capabilities_default_add_and_drop(hakod):
    assert _cap_eff(hakod) == DOCKER_DEFAULT_CAPS
    assert _cap_eff(hakod, "--cap-add", "NET_ADMIN") == DOCKER_DEFAULT_CAPS | (1 << CAP_NET_ADMIN)
    assert _cap_eff(hakod, "--cap-drop", "CHOWN") == DOCKER_DEFAULT_CAPS & ~(1 << CAP_CHOWN)
    assert _cap_eff(hakod, "--cap-drop", "ALL") == 0


def _effective_set() -> int:
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("CapEff:")).split()[1], 16)


def test_privileged_gets_every_capability_and_the_hosts_devices(hakod):
    # Every capability hakod holds (as dockerd: containerd's cap.Current()), and the host's devices.
    script = "grep CapEff /proc/self/status; ls /dev; grep ' /sys ' /proc/self/mounts"
    out = ok(hakod, "run", "--rm", "--privileged", "busybox", "sh", "-c", script)
    assert int(out.split()[1], 16) == _effective_set()
    host_devices = {"kmsg", "loop0"} & set(os.listdir("/dev"))
    assert host_devices and host_devices <= set(out.split())
    assert " rw," in out.splitlines()[-1]
    default = ok(hakod, "run", "--rm", "busybox", "sh", "-c", script)
    assert not host_devices & set(default.split())
    assert " ro," in default.splitlines()[-1]


def test_read_only_root(hakod):
    result = hakod.docker("run", "--rm", "--read-only", "busybox", "touch", "/x")
    assert result.returncode == 1
    assert "Read-only file system" in result.stderr


def test_init_is_pid_one(hakod):
    out = ok(hakod, "run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline")
    assert out.split("\0")[0] in ("/sbin/docker-init", "docker-init")
    assert ok(hakod, "run", "--rm", "busybox", "cat", "/proc/1/comm") == "cat\n"


def test_labels(hakod):
    ok(hakod, "create", "--name", "lab", "-l", "tier=web", "--label", "empty=", "busybox", "true")
    assert inspect(hakod, '{{index .Config.Labels "tier"}}|{{index .Config.Labels "empty"}}', "lab") == "web|"


def test_restart_policy_on_failure_gives_up_after_its_count(hakod):
    run_d(hakod, "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")
    poll(lambda: inspect(hakod, "{{.RestartCount}} {{.State.Status}}", "flaky") == "2 exited", timeout=30)
    assert inspect(hakod, "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}} "
                          "{{.State.ExitCode}}", "flaky") == "on-failure 2 3"


def test_restart_always_survives_exits_until_stopped(hakod):
    run_d(hakod, "--name", "always", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 1")
    poll(lambda: int(inspect(hakod, "{{.RestartCount}}", "always")) >= 1, timeout=30)
    ok(hakod, "stop", "-t", "1", "always")
    assert inspect(hakod, "{{.State.Status}}", "always") == "exited"


def test_health_check_becomes_healthy(hakod):
    run_d(hakod, "--name", "hc", "--health-cmd", "test -e /tmp/ready", "--health-interval", "200ms",
          "--health-retries", "1", "busybox", "sh", "-c", "touch /tmp/ready; sleep 60")
    poll(lambda: inspect(hakod, "{{.State.Health.Status}}", "hc") == "healthy", timeout=30)
    assert ok(hakod, "ps", "--format", "{{.Status}}").strip().endswith("(healthy)")
    ok(hakod, "exec", "hc", "rm", "/tmp/ready")
    poll(lambda: inspect(hakod, "{{.State.Health.Status}}", "hc") == "unhealthy", timeout=30)
    assert inspect(hakod, "{{.Config.Healthcheck.Test}}", "hc") == "[CMD-SHELL test -e /tmp/ready]"


def test_stdin_and_tty_flags(hakod):
    assert ok(hakod, "run", "--rm", "-i", "busybox", "cat", input="piped\n") == "piped\n"
    # -t alone: a pty without stdin; the output comes back with the pty's CRLF line ends.
    # (bytes, as text mode would turn CRLF into LF)
    assert ok(hakod, "run", "--rm", "-t", "busybox", "tty", input=b"") == b"/dev/pts/0\r\n"
    # -t -i with stdin not a terminal is refused by the CLI itself, as with Docker.
    result = hakod.docker("run", "--rm", "-it", "busybox", "true", input="")
    assert result.returncode == 1
    assert "the input device is not a TTY" in result.stderr


# --- concurrency and failures -------------------------------------------------------------------

def test_thirty_concurrent_runs_all_succeed(hakod):
    results: list = [None] * 30

    def one(i: int) -> None:
        results[i] = hakod.docker("run", "--rm", "busybox", "sh", "-c", f"echo {i}", timeout=120)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failures = [(i, r.returncode, r.stderr) for i, r in enumerate(results) if r.returncode != 0]
    assert not failures
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(30)]
    assert ok(hakod, "ps", "-aq") == ""


@pytest.mark.parametrize("flags, code, message", [
    (["-w", "/etc/passwd"], 125, "failed to create task for container"),   # the working directory is a file
    (["-u", "nosuchuser"], 125, "unable to find user nosuchuser"),         # a user the image does not know
    ([], 127, "executable file not found"),                                # see also test_docker_cli_basic
], ids=["workdir-is-a-file", "unknown-user", "missing-binary"])
def test_rm_container_that_fails_to_start_leaves_nothing(hakod, flags, code, message):
    args = ["run", "--rm", *flags, "busybox"] + (["no-such-binary"] if code == 127 else ["true"])
    result = hakod.docker(*args, timeout=30)
    assert result.returncode == code
    assert "docker: Error response from daemon: " in result.stderr
    assert message in result.stderr
    assert ok(hakod, "ps", "-aq") == ""


def test_container_subcommand_forms(hakod):
    cid = ok(hakod, "container", "create", "--name", "sub", "busybox", *GRACEFUL).strip()
    assert HEX64.match(cid)
    assert ok(hakod, "container", "start", "sub") == "sub\n"
    assert ok(hakod, "container", "pause", "sub") == "sub\n"
    assert ok(hakod, "container", "unpause", "sub") == "sub\n"
    assert ok(hakod, "container", "kill", "-s", "TERM", "sub") == "sub\n"     # its trap exits 0
    assert ok(hakod, "container", "wait", "sub") == "0\n"
    assert ok(hakod, "container", "logs", "sub") == ""
    assert ok(hakod, "container", "ls", "-a", "--format", "{{.Names}} {{.State}}") == "sub exited\n"
    assert ok(hakod, "container", "run", "--rm", "busybox", "echo", "via-container-run") == "via-container-run\n"
    assert ok(hakod, "container", "stop", "sub") == "sub\n"
    assert ok(hakod, "container", "rm", "sub") == "sub\n"
    assert ok(hakod, "container", "ls", "-aq") == ""
