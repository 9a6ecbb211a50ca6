"""The docker SDK's ``containers.run`` against hakod: what comes back (output, exit codes,
errors) and the create options that change what the process sees or is allowed to do.

Limits are read from the host's side of the container's cgroup, which is where the kernel
enforces them; what the container itself reports is checked where the kernel shows it
(capabilities in /proc/self/status, the read-only root through a failing write).
"""

from __future__ import annotations

import os
import time

import docker
import pytest

from tests.conftest import needs_root
from tests.compat.polling import poll

pytestmark = needs_root

# Docker's default capability set (moby's oci/caps/defaults.go): CHOWN DAC_OVERRIDE FSETID FOWNER
# MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE.
DOCKER_DEFAULT_CAPS = 0x00000000A80425FB
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
CAP_CHOWN = 0


def cap_eff(client, **kwargs) -> int:
    out = client.containers.run("busybox", ["grep", "CapEff", "/proc/self/status"], remove=True, **kwargs)
    return int(out.split()[1], 16)


def host_cgroup_value(hakod, container_id: str, v1: tuple[str, str], v2: str) -> str:
    """The value of a limit as the kernel holds it, on cgroup v1 or v2 hosts."""
    parent = hakod.cgroup_parent.strip("/")
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        path = f"/sys/fs/cgroup/{parent}/{container_id}/{v2}"
    else:
        controller, name = v1
        path = f"/sys/fs/cgroup/{controller}/{parent}/{container_id}/{name}"
    with open(path) as f:
        return f.read().strip()


# --- output and exit codes -------------------------------------------------------------------

def test_run_returns_stdout_only_by_default_and_remove_deletes_it(hakod):
    client = hakod.sdk()
    out = client.containers.run("busybox", ["sh", "-c", "echo to-out; echo to-err >&2"], remove=True)
    assert out == b"to-out\n"
    assert client.containers.list(all=True) == []


def test_run_can_capture_stderr_alone(hakod):
    client = hakod.sdk()
    out = client.containers.run("busybox", ["sh", "-c", "echo to-out; echo to-err >&2"],
                                stdout=False, stderr=True, remove=True)
    assert out == b"to-err\n"


def test_run_stream_yields_the_output(hakod):
    client = hakod.sdk()
    chunks = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3; do echo $i; done"],
                                   stream=True, remove=True)
    assert b"".join(chunks) == b"1\n2\n3\n"


def test_nonzero_exit_is_a_container_error_carrying_code_and_stderr(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.ContainerError) as info:
        client.containers.run("busybox", ["sh", "-c", "echo boom >&2; exit 3"], remove=True)
    assert info.value.exit_status == 3
    assert info.value.stderr == b"boom\n"
    assert client.containers.list(all=True) == []


def test_missing_image_is_image_not_found(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.ImageNotFound) as info:
        client.containers.create("no-such-image-hako:latest", "true")
    assert info.value.status_code == 404
    assert "No such image: no-such-image-hako:latest" in str(info.value)


def test_detached_run_returns_a_running_container(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], detach=True)
    container.reload()
    assert container.status == "running"
    assert container.attrs["State"]["Pid"] > 0
    assert container.image.id == client.images.get("busybox").id
    container.kill()
    assert container.wait(timeout=15)["StatusCode"] == 137


def test_detach_with_remove_is_auto_remove(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["true"], detach=True, remove=True)
    assert container.attrs["HostConfig"]["AutoRemove"] is True

    def gone():
        try:
            client.containers.get(container.id)
        except docker.errors.NotFound:
            return True
        return False

    poll(gone)


# --- what the process sees ----------------------------------------------------------------

def test_environment_working_dir_and_hostname(hakod):
    client = hakod.sdk()
    out = client.containers.run("busybox", ["sh", "-c", 'echo "$GREETING|$EMPTY|$(pwd)|$(hostname)"'],
                                environment={"GREETING": "hello world", "EMPTY": ""},
                                working_dir="/tmp", hostname="box1", remove=True)
    assert out == b"hello world||/tmp|box1\n"


def test_environment_has_docker_defaults(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["env"], environment=["ONLY=1"], detach=True)
    container.wait(timeout=15)
    env = dict(line.split("=", 1) for line in container.logs().decode().splitlines())
    assert env["ONLY"] == "1"
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert env["HOSTNAME"] == container.id[:12]     # Docker's default hostname is the short id


@pytest.mark.parametrize("user, home", [("", "/root"), ("nobody", "/nonexistent"), ("4242", "/")])
def test_home_comes_from_the_users_passwd_entry(hakod, user, home):
    out = hakod.sdk().containers.run("busybox", ["sh", "-c", 'echo "$HOME"'], user=user, remove=True)
    assert out == home.encode() + b"\n"


def test_working_dir_that_does_not_exist_is_created(hakod):
    client = hakod.sdk()
    out = client.containers.run("busybox", ["pwd"], working_dir="/new/dir", remove=True)
    assert out == b"/new/dir\n"


@pytest.mark.parametrize("user, expected", [
    ("nobody", b"65534 65534\n"),
    ("1234:5678", b"1234 5678\n"),
    ("daemon", b"1 1\n"),
])
def test_user(hakod, user, expected):
    client = hakod.sdk()
    out = client.containers.run("busybox", ["sh", "-c", "echo $(id -u) $(id -g)"], user=user, remove=True)
    assert out == expected


def test_unknown_user_fails_to_start(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.run("busybox", ["true"], user="no-such-user", remove=True)
    assert "no-such-user" in str(info.value)


def test_labels_are_kept(hakod):
    client = hakod.sdk()
    container = client.containers.create("busybox", ["true"], labels={"com.example.a": "1", "b": ""})
    assert container.labels == {"com.example.a": "1", "b": ""}
    assert client.containers.get(container.id).attrs["Config"]["Labels"]["com.example.a"] == "1"


# --- resource limits ------------------------------------------------------------------------

def test_mem_limit_reaches_the_cgroup(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], mem_limit="64m", detach=True)
    assert container.attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024
    value = host_cgroup_value(hakod, container.id, ("memory", "memory.limit_in_bytes"), "memory.max")
    assert int(value) == 64 * 1024 * 1024


def test_nano_cpus_reaches_the_cgroup(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], nano_cpus=500_000_000, detach=True)
    assert container.attrs["HostConfig"]["NanoCpus"] == 500_000_000
    parent = hakod.cgroup_parent.strip("/")
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        quota, period = host_cgroup_value(hakod, container.id, ("", ""), "cpu.max").split()
    else:
        with open(f"/sys/fs/cgroup/cpu/{parent}/{container.id}/cpu.cfs_quota_us") as f:
            quota = f.read().strip()
        with open(f"/sys/fs/cgroup/cpu/{parent}/{container.id}/cpu.cfs_period_us") as f:
            period = f.read().strip()
    assert int(quota) / int(period) == pytest.approx(0.5)


def test_pids_limit_is_enforced(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], pids_limit=8, detach=True)
    assert container.attrs["HostConfig"]["PidsLimit"] == 8
    assert host_cgroup_value(hakod, container.id, ("pids", "pids.max"), "pids.max") == "8"
    # Forking past the limit fails inside the container: the kernel enforces it.
    result = container.exec_run(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait"])
    assert result.exit_code != 0
    assert b"can't fork" in result.output


# --- privileges -------------------------------------------------------------------------------

def test_default_capabilities_are_dockers(hakod):
    assert cap_eff(hakod.sdk()) == DOCKER_DEFAULT_CAPS


def test_cap_add_and_cap_drop(hakod):
    client = hakod.sdk()
    added = cap_eff(client, cap_add=["NET_ADMIN"], cap_drop=["CHOWN"])
    assert added & (1 << CAP_NET_ADMIN)
    assert not added & (1 << CAP_CHOWN)
    assert added == (DOCKER_DEFAULT_CAPS | 1 << CAP_NET_ADMIN) & ~(1 << CAP_CHOWN)
    assert cap_eff(client, cap_drop=["ALL"]) == 0
    assert cap_eff(client, cap_add=["CAP_SYS_ADMIN"]) & (1 << CAP_SYS_ADMIN)


def test_privileged_gets_every_capability_the_host_has(hakod):
    with open("/proc/self/status") as f:
        host = next(int(line.split()[1], 16) for line in f if line.startswith("CapBnd"))
    assert cap_eff(hakod.sdk(), privileged=True) == host


def test_read_only_root(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.ContainerError) as info:
        client.containers.run("busybox", ["touch", "/file"], read_only=True, remove=True)
    assert b"Read-only file system" in info.value.stderr
    # /dev is a tmpfs of its own, writable under a read-only root, as in Docker.
    assert client.containers.run("busybox", ["sh", "-c", "echo x > /dev/null && echo ok"],
                                 read_only=True, remove=True) == b"ok\n"


def test_init_puts_an_init_at_pid_1(hakod):
    client = hakod.sdk()
    assert client.containers.run("busybox", ["sh", "-c", "echo $$"], remove=True) == b"1\n"
    out = client.containers.run("busybox", ["sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '"],
                                init=True, remove=True).decode().splitlines()
    assert out[0] != "1"
    assert "init" in out[1]


def test_init_forwards_the_stop_signal(hakod):
    """Under docker-init, sleep gets the SIGTERM that PID 1 would have ignored: exit 143, no kill."""
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "60"], init=True, detach=True)
    container.stop(timeout=30)
    assert container.wait(timeout=5)["StatusCode"] == 143


def test_ulimits(hakod):
    client = hakod.sdk()
    out = client.containers.run("busybox", ["sh", "-c", "ulimit -Sn; ulimit -Hn"], remove=True,
                                ulimits=[docker.types.Ulimit(name="nofile", soft=1024, hard=2048)])
    assert out == b"1024\n2048\n"


def test_command_string_is_split_like_a_shell_and_entrypoint_overrides(hakod):
    client = hakod.sdk()
    assert client.containers.run("busybox", "echo 'two words' three", remove=True) == b"two words three\n"
    out = client.containers.run("busybox", ["-c", "echo from-entrypoint"], entrypoint=["sh"], remove=True)
    assert out == b"from-entrypoint\n"


def test_tty_output_has_carriage_returns(hakod):
    client = hakod.sdk()
    assert client.containers.run("busybox", ["sh", "-c", "[ -t 1 ] && echo tty"], tty=True, remove=True) == b"tty\r\n"


# --- restart policies and health ------------------------------------------------------------

def test_on_failure_restart_policy_retries_then_stops(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "exit 2"], detach=True,
                                      restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})

    def settled():
        container.reload()
        state = container.attrs["State"]
        return container.attrs["RestartCount"] == 2 and state["Status"] == "exited" and state

    state = poll(settled, timeout=30)
    assert state["ExitCode"] == 2
    assert container.attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}


def test_always_restart_policy_restarts_a_process_that_exits(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "sleep 0.2"], detach=True,
                                      restart_policy={"Name": "always"})

    def restarted():
        container.reload()
        return container.attrs["RestartCount"] >= 1

    poll(restarted, timeout=30)
    container.stop(timeout=1)
    container.reload()
    assert container.status == "exited"
    count = container.attrs["RestartCount"]
    time.sleep(0.5)   # a stopped container with "always" stays stopped (docker stop is explicit)
    container.reload()
    assert container.status == "exited" and container.attrs["RestartCount"] == count


def test_healthcheck_becomes_healthy(hakod):
    client = hakod.sdk()
    container = client.containers.run(
        "busybox", ["sleep", "30"], detach=True,
        healthcheck={"test": ["CMD-SHELL", "echo checked; test -d /tmp"], "interval": 200_000_000,
                     "timeout": 5_000_000_000, "retries": 3})
    container.reload()
    assert container.attrs["State"]["Health"]["Status"] in ("starting", "healthy")

    def healthy():
        container.reload()
        return container.attrs["State"]["Health"]["Status"] == "healthy" and container.attrs["State"]["Health"]

    health = poll(healthy)
    assert health["FailingStreak"] == 0
    assert health["Log"][-1]["ExitCode"] == 0
    assert "checked" in health["Log"][-1]["Output"]
    assert container.health == "healthy"
    assert [c.id for c in client.containers.list(filters={"health": "healthy"})] == [container.id]
    assert "(healthy)" in client.api.containers(filters={"id": container.id})[0]["Status"]
    events = client.events(since=int(time.time()) - 60, until=int(time.time()) + 1, decode=True,
                           filters={"container": container.id})
    assert "health_status: healthy" in [e["Action"] for e in events]


def test_failing_healthcheck_becomes_unhealthy(hakod):
    client = hakod.sdk()
    container = client.containers.run(
        "busybox", ["sleep", "30"], detach=True,
        healthcheck={"test": ["CMD", "false"], "interval": 200_000_000, "retries": 2})

    def unhealthy():
        container.reload()
        return container.attrs["State"]["Health"]["Status"] == "unhealthy" and container.attrs["State"]["Health"]

    health = poll(unhealthy)
    assert health["FailingStreak"] >= 2
    assert health["Log"][-1]["ExitCode"] == 1
