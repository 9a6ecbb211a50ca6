"""Reading and validating an OCI runtime config (config.json), Linux part of runtime-spec 1.x.

The validation is hand-written rather than a JSON-schema library because it sits on the container
start path (jsonschema costs ~100 ms to import) and because each error must be one line that names
the offending field, e.g. ``process.args: must be a non-empty array of strings``.
"""

from __future__ import annotations

import json
import os
from .errors import ConfigError

NAMESPACE_TYPES = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
PROPAGATIONS = {"shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"}
RLIMITS = {
    "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
    "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
}
UINT32_MAX = 2**32 - 1


def load_config(bundle: str) -> dict:
    """Read ``bundle/config.json`` and validate it; raise ConfigError with a one-line reason."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    config = parse_json(raw, "config.json")
    validate(config)
    return config


def read_json_argument(value: str, flag: str) -> object:
    """The JSON named by a command-line flag: a file path, or ``-`` for standard input."""
    if value == "-":
        import sys

        return parse_json(sys.stdin.buffer.read(), flag)
    try:
        with open(value, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(f"{flag} {value}: {exc.strerror}") from None
    return parse_json(raw, f"{flag} {value}")


def parse_json(raw: bytes | str, what: str) -> object:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{what}: malformed JSON: {exc}") from None


def _fail(field: str, message: str) -> None:
    raise ConfigError(f"{field}: {message}")


def _obj(value: object, field: str, required: bool = False) -> dict:
    if value is None:
        if required:
            _fail(field, "is required")
        return {}
    if not isinstance(value, dict):
        _fail(field, "must be an object")
    return value


def _list(value: object, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(field, "must be an array")
    return value


def _str(value: object, field: str, required: bool = False) -> str | None:
    if value is None:
        if required:
            _fail(field, "is required")
        return None
    if not isinstance(value, str):
        _fail(field, "must be a string")
    return value


def _int(value: object, field: str, required: bool = False, lo: int | None = None, hi: int | None = None) -> int | None:
    if value is None:
        if required:
            _fail(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(field, "must be an integer")
    if lo is not None and value < lo or hi is not None and value > hi:
        _fail(field, f"{value} is out of range")
    return value


def _bool(value: object, field: str) -> None:
    if value is not None and not isinstance(value, bool):
        _fail(field, "must be a boolean")


def _strings(value: object, field: str) -> list[str]:
    items = _list(value, field)
    for i, item in enumerate(items):
        _str(item, f"{field}[{i}]")
    return items


def _abs_path(value: object, field: str, required: bool = True) -> None:
    path = _str(value, field, required)
    if path is not None and not path.startswith("/"):
        _fail(field, f"must be an absolute path, not {path!r}")


def validate(config: object) -> None:
    """Check the fields hako acts on; unknown fields are ignored as the spec requires."""
    config = _obj(config, "config", required=True)
    _str(config.get("ociVersion"), "ociVersion", required=True)
    root = _obj(config.get("root"), "root", required=True)
    _str(root.get("path"), "root.path", required=True)
    _bool(root.get("readonly"), "root.readonly")
    validate_process(config.get("process"), "process")
    _str(config.get("hostname"), "hostname")
    _str(config.get("domainname"), "domainname")
    for i, m in enumerate(_list(config.get("mounts"), "mounts")):
        field = f"mounts[{i}]"
        m = _obj(m, field, required=True)
        _abs_path(m.get("destination"), f"{field}.destination")
        _str(m.get("type"), f"{field}.type")
        _str(m.get("source"), f"{field}.source")
        _strings(m.get("options"), f"{field}.options")
    hooks = _obj(config.get("hooks"), "hooks")
    for kind in HOOK_KINDS:
        for i, hook in enumerate(_list(hooks.get(kind), f"hooks.{kind}")):
            field = f"hooks.{kind}[{i}]"
            hook = _obj(hook, field, required=True)
            _abs_path(hook.get("path"), f"{field}.path")
            _strings(hook.get("args"), f"{field}.args")
            _strings(hook.get("env"), f"{field}.env")
            _int(hook.get("timeout"), f"{field}.timeout", lo=1)
    annotations = _obj(config.get("annotations"), "annotations")
    for key, value in annotations.items():
        _str(value, f"annotations.{key}")
    _validate_linux(_obj(config.get("linux"), "linux"))


def validate_process(process: object, field: str) -> None:
    process = _obj(process, field, required=True)
    _bool(process.get("terminal"), f"{field}.terminal")
    args = process.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        _fail(f"{field}.args", "must be a non-empty array of strings")
    _abs_path(process.get("cwd"), f"{field}.cwd")
    for i, env in enumerate(_strings(process.get("env"), f"{field}.env")):
        if "=" not in env:
            _fail(f"{field}.env[{i}]", f"{env!r} is not of the form KEY=value")
    user = _obj(process.get("user"), f"{field}.user")
    _int(user.get("uid"), f"{field}.user.uid", lo=0, hi=UINT32_MAX)
    _int(user.get("gid"), f"{field}.user.gid", lo=0, hi=UINT32_MAX)
    _int(user.get("umask"), f"{field}.user.umask", lo=0, hi=0o777)
    for i, gid in enumerate(_list(user.get("additionalGids"), f"{field}.user.additionalGids")):
        _int(gid, f"{field}.user.additionalGids[{i}]", lo=0, hi=UINT32_MAX)
    caps = _obj(process.get("capabilities"), f"{field}.capabilities")
    from ..linux.capabilities import NUMBERS

    for kind in ("bounding", "effective", "inheritable", "permitted", "ambient"):
        for i, cap in enumerate(_strings(caps.get(kind), f"{field}.capabilities.{kind}")):
            if cap not in NUMBERS:
                _fail(f"{field}.capabilities.{kind}[{i}]", f"unknown capability {cap!r}")
    for i, rlimit in enumerate(_list(process.get("rlimits"), f"{field}.rlimits")):
        where = f"{field}.rlimits[{i}]"
        rlimit = _obj(rlimit, where, required=True)
        if rlimit.get("type") not in RLIMITS:
            _fail(f"{where}.type", f"unknown rlimit {rlimit.get('type')!r}")
        soft = _int(rlimit.get("soft"), f"{where}.soft", required=True, lo=0)
        hard = _int(rlimit.get("hard"), f"{where}.hard", required=True, lo=0)
        if soft > hard:
            _fail(where, f"soft limit {soft} exceeds hard limit {hard}")
    _bool(process.get("noNewPrivileges"), f"{field}.noNewPrivileges")
    _int(process.get("oomScoreAdj"), f"{field}.oomScoreAdj", lo=-1000, hi=1000)
    size = _obj(process.get("consoleSize"), f"{field}.consoleSize")
    _int(size.get("height"), f"{field}.consoleSize.height", lo=0)
    _int(size.get("width"), f"{field}.consoleSize.width", lo=0)


def _validate_linux(linux: dict) -> None:
    seen = set()
    for i, ns in enumerate(_list(linux.get("namespaces"), "linux.namespaces")):
        field = f"linux.namespaces[{i}]"
        ns = _obj(ns, field, required=True)
        kind = ns.get("type")
        if kind not in NAMESPACE_TYPES:
            _fail(f"{field}.type", f"unknown namespace type {kind!r}")
        if kind in seen:
            _fail(f"{field}.type", f"duplicate namespace {kind!r}")
        seen.add(kind)
        _abs_path(ns.get("path"), f"{field}.path", required=False)
    for key in ("uidMappings", "gidMappings"):
        for i, m in enumerate(_list(linux.get(key), f"linux.{key}")):
            field = f"linux.{key}[{i}]"
            m = _obj(m, field, required=True)
            for part in ("containerID", "hostID", "size"):
                _int(m.get(part), f"{field}.{part}", required=True, lo=0, hi=UINT32_MAX)
    if (linux.get("uidMappings") or linux.get("gidMappings")) and "user" not in seen:
        _fail("linux.uidMappings", "user mappings need a user namespace in linux.namespaces")
    for i, dev in enumerate(_list(linux.get("devices"), "linux.devices")):
        field = f"linux.devices[{i}]"
        dev = _obj(dev, field, required=True)
        _abs_path(dev.get("path"), f"{field}.path")
        if dev.get("type") not in ("c", "b", "u", "p"):
            _fail(f"{field}.type", f"must be one of c, b, u, p, not {dev.get('type')!r}")
        if dev.get("type") != "p":
            _int(dev.get("major"), f"{field}.major", required=True, lo=0)
            _int(dev.get("minor"), f"{field}.minor", required=True, lo=0)
        _int(dev.get("fileMode"), f"{field}.fileMode", lo=0, hi=0o7777)
        _int(dev.get("uid"), f"{field}.uid", lo=0, hi=UINT32_MAX)
        _int(dev.get("gid"), f"{field}.gid", lo=0, hi=UINT32_MAX)
    _str(linux.get("cgroupsPath"), "linux.cgroupsPath")
    _validate_resources(_obj(linux.get("resources"), "linux.resources"), "linux.resources")
    propagation = _str(linux.get("rootfsPropagation"), "linux.rootfsPropagation")
    if propagation and propagation not in PROPAGATIONS:
        _fail("linux.rootfsPropagation", f"unknown propagation {propagation!r}")
    sysctl = _obj(linux.get("sysctl"), "linux.sysctl")
    for key, value in sysctl.items():
        _str(value, f"linux.sysctl.{key}")
        if ".." in key or key.startswith("/"):
            _fail(f"linux.sysctl.{key}", "invalid sysctl name")
    _strings(linux.get("maskedPaths"), "linux.maskedPaths")
    _strings(linux.get("readonlyPaths"), "linux.readonlyPaths")
    if linux.get("seccomp") is not None:
        from . import seccomp

        seccomp.validate(_obj(linux.get("seccomp"), "linux.seccomp"))
    if linux.get("intelRdt"):
        _fail("linux.intelRdt", "is not supported by hako-runtime")


def validate_resources(resources: object, field: str = "linux.resources") -> None:
    _validate_resources(_obj(resources, field), field)


def _validate_resources(res: dict, field: str) -> None:
    memory = _obj(res.get("memory"), f"{field}.memory")
    for key in ("limit", "reservation", "swap", "kernel", "kernelTCP"):
        _int(memory.get(key), f"{field}.memory.{key}", lo=-1)
    limit, swap = memory.get("limit"), memory.get("swap")
    if limit is not None and limit >= 0 and swap is not None and 0 <= swap < limit:
        _fail(f"{field}.memory.swap", f"memory+swap limit {swap} is below the memory limit {limit}")
    _int(memory.get("swappiness"), f"{field}.memory.swappiness", lo=0, hi=100)
    cpu = _obj(res.get("cpu"), f"{field}.cpu")
    _int(cpu.get("shares"), f"{field}.cpu.shares", lo=0)
    _int(cpu.get("quota"), f"{field}.cpu.quota", lo=-1)
    _int(cpu.get("period"), f"{field}.cpu.period", lo=0)
    _str(cpu.get("cpus"), f"{field}.cpu.cpus")
    _str(cpu.get("mems"), f"{field}.cpu.mems")
    pids = _obj(res.get("pids"), f"{field}.pids")
    _int(pids.get("limit"), f"{field}.pids.limit", required="pids" in res)
    blkio = _obj(res.get("blockIO"), f"{field}.blockIO")
    _int(blkio.get("weight"), f"{field}.blockIO.weight", lo=0, hi=1000)
    for i, dev in enumerate(_list(res.get("devices"), f"{field}.devices")):
        where = f"{field}.devices[{i}]"
        dev = _obj(dev, where, required=True)
        if not isinstance(dev.get("allow"), bool):
            _fail(f"{where}.allow", "must be a boolean")
        if dev.get("type", "a") not in ("a", "c", "b"):
            _fail(f"{where}.type", f"must be a, c or b, not {dev.get('type')!r}")
        access = _str(dev.get("access"), f"{where}.access") or ""
        if set(access) - set("rwm"):
            _fail(f"{where}.access", f"must be a combination of r, w, m, not {access!r}")
