"""What confines the container's process: capabilities, no_new_privs, the user namespace and its
id mappings, and seccomp (Docker's default profile)."""

from __future__ import annotations

import os

import pytest

from hako.linux.capabilities import mask

from .conftest import needs_root, wait_for

pytestmark = [pytest.mark.root, needs_root]

STATUS_PROBE = "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status"


def status_fields(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.strip().splitlines())}


def caps(names: list[str]) -> dict:
    return {kind: list(names) for kind in ("bounding", "effective", "permitted", "ambient")}


# ---- 3. capabilities and no_new_privs ----------------------------------------------------------

def test_default_capabilities_and_no_new_privs(rt):
    cid, bundle = rt.bundle(["sh", "-c", STATUS_PROBE])
    status = status_fields(rt.ok("run", cid, "--bundle", bundle).out)
    assert int(status["CapEff"], 16) == 0x20000420  # CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE
    assert int(status["CapBnd"], 16) == 0x20000420
    assert int(status["CapPrm"], 16) == 0x20000420
    assert int(status["CapInh"], 16) == 0
    assert status["NoNewPrivs"] == "1"


def test_other_capability_set_without_no_new_privs(rt):
    names = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN"]
    cid, bundle = rt.bundle(["sh", "-c", STATUS_PROBE], process__capabilities=caps(names),
                            process__noNewPrivileges=False)
    status = status_fields(rt.ok("run", cid, "--bundle", bundle).out)
    assert int(status["CapEff"], 16) == int(status["CapBnd"], 16) == mask(names) == 0x202001
    assert status["NoNewPrivs"] == "0"


def test_no_capabilities_at_all(rt):
    cid, bundle = rt.bundle(["sh", "-c", STATUS_PROBE + "; touch /dev/shm/f; chown 1 /dev/shm/f 2>&1 || true"],
                            process__capabilities=caps([]))
    out = rt.ok("run", cid, "--bundle", bundle).out
    status = status_fields("\n".join(line for line in out.splitlines() if line.startswith(("Cap", "NoNew"))))
    assert int(status["CapEff"], 16) == int(status["CapBnd"], 16) == 0
    assert "Operation not permitted" in out


def test_non_root_user_keeps_ambient_capabilities(rt):
    names = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
    cid, bundle = rt.bundle(
        ["sh", "-c", STATUS_PROBE + "; id -u"],
        process__user={"uid": 1000, "gid": 1000},
        process__capabilities={"bounding": names, "effective": names, "permitted": names,
                               "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]})
    out = rt.ok("run", cid, "--bundle", bundle).out
    assert out.strip().splitlines()[-1] == "1000"
    status = status_fields("\n".join(out.strip().splitlines()[:-1]))
    assert int(status["CapBnd"], 16) == mask(names)
    # execve as a non-root user keeps only the ambient set (capabilities(7))
    assert int(status["CapEff"], 16) == int(status["CapAmb"], 16) == mask(["CAP_NET_BIND_SERVICE"])


# ---- 5. user namespace ---------------------------------------------------------------------

USERNS = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup", "user")]
MAPPING = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def test_user_namespace_with_mappings(rt):
    cid, bundle, pid = rt.started(["sleep", "60"], linux__namespaces=USERNS,
                                  linux__uidMappings=MAPPING, linux__gidMappings=MAPPING)
    with open(f"/proc/{pid}/status") as f:
        status = status_fields("".join(line for line in f if line.startswith(("Uid:", "Gid:"))))
    assert status["Uid"].split() == ["100000"] * 4
    assert status["Gid"].split() == ["100000"] * 4
    with open(f"/proc/{pid}/uid_map") as f:
        assert f.read().split() == ["0", "100000", "65536"]
    inside = rt.ok("exec", cid, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; "
                                            "readlink /proc/self/ns/user; ls -ln /bin/busybox").out.split("\n")
    assert inside[0].split() == ["0", "100000", "65536"]
    assert inside[1].split() == ["0", "100000", "65536"]
    assert inside[2] == "0"
    assert inside[3] == os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    assert inside[4].split()[2:4] == ["65534", "65534"]  # the host's root is unmapped: nobody
    rt.ok("delete", "--force", cid)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the container's init to go")


# ---- 6. seccomp ------------------------------------------------------------------------------

DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]


@pytest.fixture
def docker_seccomp():
    """Docker's default profile for Docker's default capabilities, as the engine will make it."""
    try:
        from hako.containers.seccomp_profile import default_profile, to_oci
        from hako.runtime import seccomp  # noqa: F401
        import seccomp as libseccomp  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"seccomp support is not importable: {exc}")
    return to_oci(default_profile(), DOCKER_DEFAULT_CAPS)


def test_seccomp_default_profile_blocks_unshare_despite_cap_sys_admin(rt, docker_seccomp):
    names = DOCKER_DEFAULT_CAPS + ["CAP_SYS_ADMIN"]
    cid, bundle = rt.bundle(["unshare", "-m", "true"], process__capabilities=caps(names),
                            linux__seccomp=docker_seccomp)
    result = rt("run", cid, "--bundle", bundle)
    assert result.rc != 0, result
    assert "Operation not permitted" in result.err

    cid, bundle = rt.bundle(["unshare", "-m", "true"], process__capabilities=caps(names))
    rt.ok("run", cid, "--bundle", bundle)


def test_seccomp_filter_applies_to_exec_too(rt, docker_seccomp):
    names = DOCKER_DEFAULT_CAPS + ["CAP_SYS_ADMIN"]
    cid, _, _ = rt.started(["sleep", "60"], process__capabilities=caps(names), linux__seccomp=docker_seccomp)
    result = rt("exec", cid, "unshare", "-m", "true")
    assert result.rc != 0 and "Operation not permitted" in result.err, result
    assert rt.ok("exec", cid, "sh", "-c", "grep Seccomp: /proc/self/status").out.split() == ["Seccomp:", "2"]
