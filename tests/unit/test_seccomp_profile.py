"""Docker profile -> OCI linux.seccomp, as moby's profiles/seccomp setupSeccomp resolves it."""

from __future__ import annotations

import copy
import json
import os

import pytest

from hako.containers.seccomp_profile import ProfileError, default_profile, native_arch, to_oci
from hako.runtime import seccomp as runtime_seccomp

DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
X86_64 = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def resolve(caps=DOCKER_DEFAULT_CAPS, arch="amd64", kernel="6.1.0-13-amd64", profile=None):
    return to_oci(profile if profile is not None else default_profile(), caps, arch=arch, kernel=kernel)


def allowed(oci: dict) -> set[str]:
    """Names allowed unconditionally (rules without args)."""
    return {n for r in oci["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args")
            for n in r["names"]}


def rules_for(oci: dict, name: str) -> list[dict]:
    return [r for r in oci["syscalls"] if name in r["names"]]


def test_default_profile_is_dockers():
    profile = default_profile()
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == 1
    assert profile["archMap"][0]["architecture"] == "SCMP_ARCH_X86_64"
    profile["syscalls"].clear()  # a fresh copy each call: callers may edit theirs
    assert default_profile()["syscalls"]


def test_default_caps_keep_privileged_syscalls_out():
    oci = resolve()
    names = allowed(oci)
    assert {"read", "write", "getpid", "chroot", "arch_prctl", "modify_ldt", "ptrace"} <= names
    for name in ("mount", "umount2", "unshare", "setns", "pivot_root", "bpf", "reboot", "keyctl",
                 "add_key", "open_by_handle_at", "iopl", "init_module", "syslog", "acct"):
        assert name not in names, name
        assert not rules_for(oci, name), name
    # the CAP_SYS_ADMIN-less clone: namespace flags masked out, clone3 answered with ENOSYS
    assert rules_for(oci, "clone") == [{
        "names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
    }]
    assert rules_for(oci, "clone3") == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]


def test_cap_sys_admin_adds_its_syscalls_and_drops_the_clone_guards():
    oci = resolve(DOCKER_DEFAULT_CAPS + ["CAP_SYS_ADMIN"])
    names = allowed(oci)
    assert {"mount", "umount2", "unshare", "setns", "sethostname", "clone", "clone3"} <= names
    assert "pivot_root" not in names  # not even with CAP_SYS_ADMIN, as in Docker
    assert not [r for r in oci["syscalls"] if r.get("args") and "clone" in r["names"]]
    assert not [r for r in oci["syscalls"] if r["action"] == "SCMP_ACT_ERRNO"]


def test_includes_caps_need_every_listed_cap():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["x"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_A", "CAP_B"]}}]}
    assert "syscalls" not in resolve(["CAP_A"], profile=profile)
    assert resolve(["CAP_A", "CAP_B"], profile=profile)["syscalls"][0]["names"] == ["x"]


def test_capability_names_are_normalised():
    assert "mount" in allowed(resolve(["sys_admin"]))


def test_x86_64_arch_mapping():
    oci = resolve()
    assert oci["architectures"] == X86_64
    assert resolve(arch="x86_64")["architectures"] == X86_64  # uname spelling
    assert native_arch("x86_64") == "amd64"


def test_arm64_arch_mapping_and_arch_rules():
    oci = resolve(arch="aarch64")
    assert oci["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    names = allowed(oci)
    assert {"set_tls", "cacheflush"} <= names
    assert "arch_prctl" not in names and "modify_ldt" not in names


def test_unknown_arch_gets_no_architectures():
    oci = resolve(arch="sparc64")
    assert "architectures" not in oci
    assert "arch_prctl" not in allowed(oci)


def test_host_arch_is_the_default():
    assert native_arch() == native_arch(os.uname().machine)


def test_min_kernel():
    assert "ptrace" in allowed(resolve(kernel="4.8.0"))
    assert "ptrace" not in allowed(resolve(kernel="4.4.0-210-generic"))
    assert "ptrace" in allowed(resolve(kernel="5.0"))


def test_excludes_min_kernel():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["old"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}}]}
    assert "syscalls" in resolve(kernel="5.4.0", profile=profile)
    assert "syscalls" not in resolve(kernel="5.10.1", profile=profile)


def test_kernel_release_is_only_parsed_when_a_rule_needs_it():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}
    assert resolve(kernel="garbage", profile=profile) == {"defaultAction": "SCMP_ACT_ALLOW"}
    with pytest.raises(ProfileError, match="kernel version 'garbage'"):
        resolve(kernel="garbage")


@pytest.mark.parametrize("bad", ["4", "4.8.1", "x.y", "0.0", "256.1"])
def test_bad_min_kernel(bad):
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["x"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": bad}}]}
    with pytest.raises(ProfileError, match=r"syscalls\[0\]\.includes\.minKernel"):
        resolve(profile=profile)


def test_output_passes_the_runtime_validation_and_is_json():
    for caps in (DOCKER_DEFAULT_CAPS, DOCKER_DEFAULT_CAPS + ["CAP_SYS_ADMIN"]):
        oci = resolve(caps)
        runtime_seccomp.validate(oci)
        assert json.loads(json.dumps(oci)) == oci


def test_input_is_not_modified():
    profile = default_profile()
    before = copy.deepcopy(profile)
    oci = resolve(profile=profile)
    oci["syscalls"][0]["names"].append("extra")
    oci["architectures"].append("SCMP_ARCH_ARM")
    assert profile == before


def test_fields_copied_like_docker():
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
            {"name": "read", "action": "SCMP_ACT_ALLOW", "comment": "legacy 'name'"},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0,
             "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 15, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]},
        ]}
    assert resolve(profile=profile) == {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0,
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 15, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]},
        ]}


def test_empty_profile_means_no_seccomp():
    assert to_oci({}, DOCKER_DEFAULT_CAPS) is None
    assert to_oci({"syscalls": []}, DOCKER_DEFAULT_CAPS) is None


@pytest.mark.parametrize("profile, message", [
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
      "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}, "both 'architectures' and 'archMap'"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]},
     r"syscalls\[0\]: both 'name' and 'names'"),
    ({"syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW"}]}, "defaultAction: is required"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {"names": []}}, "syscalls: must be an array"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "includes": {"caps": "CAP_X"}}]},
     r"syscalls\[0\]\.includes\.caps: must be an array"),
    ([], "must be a JSON object"),
])
def test_malformed_profiles(profile, message):
    with pytest.raises(ProfileError, match=message):
        to_oci(profile, DOCKER_DEFAULT_CAPS, arch="amd64", kernel="6.1")
