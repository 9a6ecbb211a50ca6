"""hako.runtime.seccomp without loading anything: validation, the libseccomp filter, the BPF cache."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hako.runtime import seccomp as rs
from hako.runtime.errors import ConfigError

sc = pytest.importorskip("seccomp")

ALLOW_ALL = {"defaultAction": "SCMP_ACT_ALLOW"}


def rule(names, action="SCMP_ACT_ERRNO", **extra):
    return {"names": names, "action": action, **extra}


def spec(*rules, default="SCMP_ACT_ALLOW", **extra):
    return {"defaultAction": default, "syscalls": list(rules), **extra}


def pfc(filt, tmp_path) -> str:
    path = tmp_path / "filter.pfc"
    with open(path, "w") as f:
        filt.export_pfc(f)
    return path.read_text()


# --- validate -----------------------------------------------------------------------------------


def test_validate_accepts_a_full_spec():
    rs.validate({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"], "listenerPath": "",
        "syscalls": [rule(["read", "write"], "SCMP_ACT_ALLOW"),
                     rule(["personality"], "SCMP_ACT_ALLOW",
                          args=[{"index": 0, "value": 2**64 - 1, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}])],
    })


@pytest.mark.parametrize("bad, message", [
    (spec(rule(["a"]), rule(["b"]), rule(["c"]), rule(["d"], "SCMP_ACT_FOO")),
     "linux.seccomp.syscalls[3].action: unknown action 'SCMP_ACT_FOO'"),
    ({"syscalls": []}, "linux.seccomp.defaultAction: is required"),
    ({"defaultAction": "ALLOW"}, "linux.seccomp.defaultAction: unknown action 'ALLOW'"),
    (spec(default="SCMP_ACT_NOTIFY"), "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported"),
    (spec(rule(["a"], "SCMP_ACT_NOTIFY")), "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported"),
    (spec(defaultErrnoRet=-1), "linux.seccomp.defaultErrnoRet: must be an integer between 0 and 65535, not -1"),
    (spec(defaultErrnoRet=True), "linux.seccomp.defaultErrnoRet: must be an integer"),
    (spec(architectures=["SCMP_ARCH_X86_64", "x86"]), "linux.seccomp.architectures[1]: unknown architecture 'x86'"),
    (spec(architectures="SCMP_ARCH_X86_64"), "linux.seccomp.architectures: must be an array"),
    (spec(flags=["SECCOMP_FILTER_FLAG_NOPE"]), "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_NOPE'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}, "linux.seccomp.syscalls: must be an array"),
    (spec("read"), "linux.seccomp.syscalls[0]: must be an object"),
    (spec(rule([])), "linux.seccomp.syscalls[0].names: must be a non-empty array"),
    (spec(rule("read")), "linux.seccomp.syscalls[0].names: must be a non-empty array"),
    (spec(rule(["read", 3])), "linux.seccomp.syscalls[0].names[1]: must be a non-empty string"),
    (spec({"names": ["read"]}), "linux.seccomp.syscalls[0].action: is required"),
    (spec(rule(["read"], errnoRet=70000)), "linux.seccomp.syscalls[0].errnoRet: must be an integer between 0 and 65535"),
    (spec(rule(["read"], args=[{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}])),
     "linux.seccomp.syscalls[0].args[0].index: must be an integer between 0 and 5, not 6"),
    (spec(rule(["read"], args=[{"index": 0, "op": "SCMP_CMP_EQ"}])), "linux.seccomp.syscalls[0].args[0].value: is required"),
    (spec(rule(["read"], args=[{"index": 0, "value": 2**64, "op": "SCMP_CMP_EQ"}])),
     "linux.seccomp.syscalls[0].args[0].value: must be an integer between 0 and 18446744073709551615"),
    (spec(rule(["read"], args=[{"index": 0, "value": 1, "valueTwo": "1", "op": "SCMP_CMP_EQ"}])),
     "linux.seccomp.syscalls[0].args[0].valueTwo: must be an integer"),
    (spec(rule(["read"], args=[{"index": 0, "value": 1}])), "linux.seccomp.syscalls[0].args[0].op: is required"),
    (spec(rule(["read"], args=[{"index": 0, "value": 1, "op": "=="}])),
     "linux.seccomp.syscalls[0].args[0].op: unknown operator '=='"),
    (spec(rule(["read"], args=[1])), "linux.seccomp.syscalls[0].args[0]: must be an object"),
    ([], "linux.seccomp: must be an object"),
])
def test_validate_errors_name_the_field(bad, message):
    with pytest.raises(rs.SeccompError) as info:
        rs.validate(bad)
    assert str(info.value).startswith(message)


def test_seccomp_error_is_a_config_error():
    assert issubclass(rs.SeccompError, ConfigError)


def test_importing_the_module_does_not_import_libseccomp():
    code = "import sys, hako.runtime.seccomp; print('seccomp' in sys.modules, 'hashlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- build_filter -------------------------------------------------------------------------------


def test_build_filter_defaults_and_attributes():
    filt = rs.build_filter(spec(default="SCMP_ACT_ERRNO", defaultErrnoRet=38))
    assert filt.get_attr(sc.Attr.ACT_DEFAULT) == sc.ERRNO(38)
    assert filt.get_attr(sc.Attr.CTL_NNP) == 0  # the runtime sets no_new_privs itself
    assert rs.build_filter(spec(default="SCMP_ACT_ERRNO")).get_attr(sc.Attr.ACT_DEFAULT) == sc.ERRNO(1)


@pytest.mark.parametrize("action, expected", [
    ("SCMP_ACT_KILL", "KILL"), ("SCMP_ACT_KILL_THREAD", "KILL"), ("SCMP_ACT_KILL_PROCESS", "KILL_PROCESS"),
    ("SCMP_ACT_TRAP", "TRAP"), ("SCMP_ACT_ALLOW", "ALLOW"), ("SCMP_ACT_LOG", "LOG"),
])
def test_default_actions(action, expected):
    got = rs.build_filter(spec(default=action)).get_attr(sc.Attr.ACT_DEFAULT)
    assert got == getattr(sc, expected) & 0xFFFFFFFF  # get_attr answers unsigned


def test_trace_and_errno_return_codes(tmp_path):
    text = pfc(rs.build_filter(spec(
        rule(["read"], "SCMP_ACT_TRACE", errnoRet=7), rule(["write"], "SCMP_ACT_TRACE"),
        rule(["close"], "SCMP_ACT_ERRNO", errnoRet=13), rule(["dup"], "SCMP_ACT_ERRNO"),
    )), tmp_path)
    assert "action TRACE(7)" in text and "action TRACE(1)" in text
    assert "action ERRNO(13)" in text and "action ERRNO(1)" in text


def test_architectures_and_flags():
    filt = rs.build_filter(spec(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                                flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC",
                                       "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]))
    for arch in (sc.Arch.X86_64, sc.Arch.X86, sc.Arch.X32):
        assert filt.exist_arch(arch)
    assert filt.get_attr(sc.Attr.CTL_LOG) == 1
    assert filt.get_attr(sc.Attr.CTL_TSYNC) == 1
    assert filt.get_attr(sc.Attr.CTL_SSB) == 1
    assert rs.kernel_flags(spec(flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"])) == 3


def test_unsupported_flag_is_named():
    with pytest.raises(rs.SeccompError, match=r"flags\[1\]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported"):
        rs.build_filter(spec(flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]))
    with pytest.raises(rs.SeccompError, match="WAIT_KILLABLE_RECV"):
        rs.kernel_flags(spec(flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]))


def test_arch_unknown_to_libseccomp_is_named():
    if hasattr(sc.Arch, "M68K"):
        pytest.skip("this libseccomp knows m68k")
    with pytest.raises(rs.SeccompError, match=r"architectures\[0\]: SCMP_ARCH_M68K is not supported"):
        rs.build_filter(spec(architectures=["SCMP_ARCH_M68K"]))


def test_notify_is_refused():
    with pytest.raises(rs.SeccompError, match="SCMP_ACT_NOTIFY is not supported"):
        rs.build_filter(spec(rule(["read"], "SCMP_ACT_NOTIFY")))


def test_unknown_syscalls_and_redundant_rules_are_skipped(tmp_path):
    text = pfc(rs.build_filter(spec(
        rule(["not_a_syscall", "mkdir"], "SCMP_ACT_ERRNO"),
        rule(["read"], "SCMP_ACT_ALLOW"),  # same as the default: libseccomp would refuse it
        default="SCMP_ACT_ALLOW",
    )), tmp_path)
    assert '"mkdir"' in text and '"read"' not in text and "not_a_syscall" not in text


def test_errno_rule_differing_from_default_only_by_errno_is_kept(tmp_path):
    text = pfc(rs.build_filter(spec(rule(["clone3"], "SCMP_ACT_ERRNO", errnoRet=38),
                                    rule(["read"], "SCMP_ACT_ERRNO"), default="SCMP_ACT_ERRNO")), tmp_path)
    assert '"clone3"' in text and "ERRNO(38)" in text and '"read"' not in text


def test_conditions_on_one_argument_become_separate_rules(tmp_path):
    args = [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]
    text = pfc(rs.build_filter(spec(rule(["personality"], args=args))), tmp_path)
    assert "$a0.lo32 == 1" in text and "$a0.lo32 == 2" in text  # libseccomp alone would raise EINVAL


def test_conditions_on_different_arguments_are_anded(tmp_path):
    args = [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 4242, "op": "SCMP_CMP_EQ"}]
    text = pfc(rs.build_filter(spec(rule(["getpriority"], args=args))), tmp_path)
    lines = [line.strip() for line in text.splitlines()]
    first = lines.index("if ($a0.lo32 == 0)")
    assert lines[first + 1:first + 3] == ["if ($a1.hi32 == 0)", "if ($a1.lo32 == 4242)"]


def test_masked_eq_uses_value_as_mask(tmp_path):
    args = [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}]
    text = pfc(rs.build_filter(spec(rule(["clone"], "SCMP_ACT_ALLOW", args=args), default="SCMP_ACT_ERRNO")), tmp_path)
    assert "if ($a0.lo32 & 0x7e020000 == 0)" in text


def test_docker_default_profile_builds():
    from hako.containers.seccomp_profile import default_profile, to_oci

    for arch in ("amd64", "arm64"):
        rs.build_filter(to_oci(default_profile(), ["CAP_CHOWN"], arch=arch, kernel="6.1"))


# --- the BPF cache ------------------------------------------------------------------------------


def test_cache_key_ignores_key_order_and_sees_content():
    a = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule(["mkdir"])]}
    b = {"syscalls": [{"action": "SCMP_ACT_ERRNO", "names": ["mkdir"]}], "defaultAction": "SCMP_ACT_ALLOW"}
    assert rs.cache_key(a) == rs.cache_key(b)
    assert rs.cache_key(a) != rs.cache_key(spec(rule(["rmdir"])))


def test_compile_bpf_builds_once(tmp_path, monkeypatch):
    s = spec(rule(["mkdir"]), architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"])
    path = rs.compile_bpf(s, tmp_path / "cache")
    size = os.path.getsize(path)
    assert size and size % 8 == 0
    assert os.listdir(tmp_path / "cache") == [os.path.basename(path)]  # no temporary file left
    monkeypatch.setattr(rs, "build_filter", lambda spec: pytest.fail("rebuilt a cached program"))
    assert rs.compile_bpf(s, tmp_path / "cache") == path
    assert rs.bpf_program(s, tmp_path / "cache") == open(path, "rb").read()


def test_compile_bpf_replaces_a_damaged_program(tmp_path):
    s = spec(rule(["mkdir"]))
    path = rs.compile_bpf(s, tmp_path)
    good = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(good[:5])
    assert open(rs.compile_bpf(s, tmp_path), "rb").read() == good


def test_compile_bpf_reports_bad_specs(tmp_path):
    with pytest.raises(rs.SeccompError, match="unknown action"):
        rs.compile_bpf(spec(rule(["mkdir"], "SCMP_ACT_NOPE")), tmp_path)
    assert os.listdir(tmp_path) == []


def test_compile_bpf_refuses_a_cache_others_can_write(tmp_path):
    s = spec(rule(["mkdir"]))
    rs.compile_bpf(s, tmp_path)
    tmp_path.chmod(0o777)
    try:
        with pytest.raises(rs.SeccompError, match="writable by no one else"):
            rs.compile_bpf(s, tmp_path)
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.parametrize("size", [0, 12, 8 * 4097])
def test_load_bpf_refuses_what_is_not_a_program(tmp_path, size):
    path = tmp_path / "bad.bpf"
    path.write_bytes(b"\0" * size)
    with pytest.raises(rs.SeccompError, match="not a BPF program"):
        rs.load_bpf(path)
    with pytest.raises(rs.SeccompError, match="not a BPF program"):
        rs.load_program(b"\0" * size)
