"""Docker seccomp profiles, turned into the OCI ``linux.seccomp`` object for one container.

A Docker profile (``seccomp_default.json`` here, or a user's ``--security-opt seccomp=FILE``) is the
OCI object plus conditions that depend on the container and the host:

- ``archMap`` lists, per native architecture, the sub-architectures whose syscall ABIs the filter
  must also cover (x86_64 → x86 and x32); only the host's entry is kept.
- each rule may carry ``includes`` and ``excludes`` with ``caps`` (the container's bounding set),
  ``arches`` (Docker's names: amd64, arm64, …) and ``minKernel`` ("4.8").

``to_oci`` resolves them as moby does (``profiles/seccomp`` setupSeccomp)::

    profile = default_profile()
    linux["seccomp"] = to_oci(profile, capabilities=bounding_set)

and returns None for a profile that sets neither a default action nor rules, which Docker treats
as "no seccomp". Errors are ``ProfileError`` (a ValueError) naming the offending field.
"""

from __future__ import annotations

import copy
import json
import os
import re
from importlib import resources
from typing import Any

DEFAULT_PROFILE = "seccomp_default.json"

# uname(2) machine -> the architecture names Docker uses in profiles (Go's, via libseccomp-golang).
_MACHINE_TO_NATIVE = {
    "x86_64": "amd64", "amd64": "amd64", "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86",
    "aarch64": "arm64", "arm64": "arm64", "armv6l": "arm", "armv7l": "arm", "armv8l": "arm",
    "ppc64le": "ppc64le", "ppc64": "ppc64", "ppc": "ppc", "s390x": "s390x", "s390": "s390",
    "riscv64": "riscv64", "loongarch64": "loongarch64", "mips64": "mips64", "mips": "mipsel",
}
# Docker's architecture name -> the OCI / libseccomp one that keys ``archMap``.
_NATIVE_TO_SECCOMP = {
    "x86": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "arm": "SCMP_ARCH_ARM",
    "arm64": "SCMP_ARCH_AARCH64", "loongarch64": "SCMP_ARCH_LOONGARCH64",
    "mips64": "SCMP_ARCH_MIPS64", "mips64n32": "SCMP_ARCH_MIPS64N32",
    "mipsel64": "SCMP_ARCH_MIPSEL64", "mips3l64n32": "SCMP_ARCH_MIPSEL64N32",
    "mipsel": "SCMP_ARCH_MIPSEL", "ppc": "SCMP_ARCH_PPC", "ppc64": "SCMP_ARCH_PPC64",
    "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64", "s390": "SCMP_ARCH_S390",
    "s390x": "SCMP_ARCH_S390X",
}
# Fields of the OCI object a profile carries through unchanged (specs.LinuxSeccomp, omitempty).
_PASSTHROUGH = ("defaultErrnoRet", "flags", "listenerPath", "listenerMetadata")


class ProfileError(ValueError):
    """The seccomp profile is malformed."""


def default_profile() -> dict:
    """Docker's default profile (moby/profiles ``seccomp/default.json``), a fresh copy each call."""
    text = resources.files(__package__).joinpath(DEFAULT_PROFILE).read_text(encoding="utf-8")
    return json.loads(text)


def native_arch(machine: str | None = None) -> str:
    """Docker's name for an architecture given as uname's machine (``x86_64`` → ``amd64``) or
    already in Docker's spelling; the host's when ``machine`` is None."""
    machine = machine or os.uname().machine
    return _MACHINE_TO_NATIVE.get(machine, machine)


def to_oci(profile: dict, capabilities: list[str], arch: str | None = None,
           kernel: str | None = None) -> dict | None:
    """Resolve a Docker profile for a container with bounding set ``capabilities`` ("CAP_…")
    on architecture ``arch`` (default: the host's) and kernel release ``kernel`` (default:
    ``os.uname().release``). Returns the OCI ``linux.seccomp`` object, or None for "no seccomp"."""
    if not isinstance(profile, dict):
        raise ProfileError("seccomp profile: must be a JSON object")
    syscalls = _array(profile.get("syscalls"), "syscalls")
    if not profile.get("defaultAction") and not syscalls:
        return None  # as Docker: an empty profile disables seccomp
    if not isinstance(profile.get("defaultAction"), str) or not profile["defaultAction"]:
        raise ProfileError("defaultAction: is required")
    arch_map = _array(profile.get("archMap"), "archMap")
    architectures = _array(profile.get("architectures"), "architectures")
    if architectures and arch_map:
        raise ProfileError("both 'architectures' and 'archMap' are specified in the seccomp profile,"
                           " use either 'architectures' or 'archMap'")
    arch = native_arch(arch)
    caps = {_cap_name(c) for c in capabilities}
    host = _Host(arch, caps, kernel)

    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    for key in _PASSTHROUGH:
        if profile.get(key) not in (None, "", []):
            out[key] = copy.deepcopy(profile[key])
    architectures = list(architectures)
    seccomp_arch = _NATIVE_TO_SECCOMP.get(arch)
    for i, entry in enumerate(arch_map):
        if not isinstance(entry, dict):
            raise ProfileError(f"archMap[{i}]: must be an object")
        if seccomp_arch is not None and entry.get("architecture") == seccomp_arch:
            architectures.append(entry["architecture"])
            architectures.extend(_array(entry.get("subArchitectures"), f"archMap[{i}].subArchitectures"))
            break
    if architectures:
        out["architectures"] = architectures

    rules = []
    for i, call in enumerate(syscalls):
        field = f"syscalls[{i}]"
        if not isinstance(call, dict):
            raise ProfileError(f"{field}: must be an object")
        if host.wants(call, field):
            rules.append(_oci_rule(call, field))
    if rules:
        out["syscalls"] = rules
    return out


class _Host:
    """What includes/excludes are matched against; the kernel release is parsed on first use."""

    def __init__(self, arch: str, caps: set[str], kernel: str | None) -> None:
        self.arch = arch
        self.caps = caps
        self._release = kernel
        self._version: tuple[int, int] | None = None

    def kernel_at_least(self, wanted: tuple[int, int]) -> bool:
        if self._version is None:
            release = self._release if self._release is not None else os.uname().release
            # moby reads "%d.%d" and ignores the rest: 3.12.25-gentoo and 3.12-1-amd64 are 3.12
            match = re.match(r"(\d+)\.(\d+)", release)
            if not match:
                raise ProfileError(f"failed to parse kernel version {release!r}")
            self._version = (int(match[1]), int(match[2]))
        return self._version >= wanted

    def wants(self, call: dict, field: str) -> bool:
        excludes = _filter(call.get("excludes"), f"{field}.excludes")
        if excludes:
            if self.arch in _array(excludes.get("arches"), f"{field}.excludes.arches"):
                return False
            if any(_cap_name(c) in self.caps for c in _array(excludes.get("caps"), f"{field}.excludes.caps")):
                return False
            wanted = _min_kernel(excludes.get("minKernel"), f"{field}.excludes.minKernel")
            if wanted is not None and self.kernel_at_least(wanted):
                return False
        includes = _filter(call.get("includes"), f"{field}.includes")
        if includes:
            arches = _array(includes.get("arches"), f"{field}.includes.arches")
            if arches and self.arch not in arches:
                return False
            if not all(_cap_name(c) in self.caps for c in _array(includes.get("caps"), f"{field}.includes.caps")):
                return False
            wanted = _min_kernel(includes.get("minKernel"), f"{field}.includes.minKernel")
            if wanted is not None and not self.kernel_at_least(wanted):
                return False
        return True


def _oci_rule(call: dict, field: str) -> dict:
    names = call.get("names")
    if call.get("name"):
        if names:
            raise ProfileError(f"{field}: both 'name' and 'names' are specified in the seccomp"
                               " profile, use either 'name' or 'names'")
        names = [call["name"]]
    rule: dict[str, Any] = {"names": list(_array(names, f"{field}.names")), "action": call.get("action")}
    if call.get("errnoRet") is not None:
        rule["errnoRet"] = call["errnoRet"]
    args = []
    for j, arg in enumerate(_array(call.get("args"), f"{field}.args")):
        if not isinstance(arg, dict):
            raise ProfileError(f"{field}.args[{j}]: must be an object")
        out = {"index": arg.get("index"), "value": arg.get("value")}
        if arg.get("valueTwo"):
            out["valueTwo"] = arg["valueTwo"]
        out["op"] = arg.get("op")
        args.append(out)
    if args:
        rule["args"] = args
    return rule


def _min_kernel(value: Any, field: str) -> tuple[int, int] | None:
    """Parse "<kernel>.<major>" strictly, as moby's KernelVersion.UnmarshalJSON does."""
    if value is None or value == "":
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)", value) if isinstance(value, str) else None
    if not match or not 0 < int(match[1]) * 256 + int(match[2]) or max(int(match[1]), int(match[2])) > 255:
        raise ProfileError(f'{field}: invalid kernel version {value!r}, expected "<kernel>.<major>"')
    return int(match[1]), int(match[2])


def _cap_name(cap: str) -> str:
    cap = cap.upper()
    return cap if cap.startswith("CAP_") else "CAP_" + cap


def _filter(value: Any, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(f"{field}: must be an object")
    return value


def _array(value: Any, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProfileError(f"{field}: must be an array")
    return value
