"""Seccomp for the runtime: an OCI ``linux.seccomp`` object in, a syscall filter on the process out.

    validate(spec)                 structural check of the OCI object, no libseccomp; run at create
    build_filter(spec)             -> seccomp.SyscallFilter (libseccomp's own Python bindings)
    load(spec, cache_dir=None)     build (or fetch from the cache) and install into this process
    compile_bpf(spec, cache_dir)   -> path of the raw BPF program, built once per spec and kernel
    bpf_program(spec, cache_dir)   -> that program's bytes
    kernel_flags(spec)             -> the SECCOMP_FILTER_FLAG_* bits the program is loaded with
    load_program(program, flags)   install raw BPF with seccomp(2) / prctl(2), no libseccomp
    load_bpf(path, flags)          the same, from a file

The translation follows runc (libcontainer/seccomp/seccomp_linux.go), so a profile behaves as it
does under Docker: syscall names libseccomp does not know are skipped, rules whose action equals the
default action are skipped, several conditions on the same argument become separate rules (OR), and
the filter leaves no_new_privs alone because the runtime sets it from ``process.noNewPrivileges``.

Loading needs CAP_SYS_ADMIN or no_new_privs already set (seccomp(2)), so the runtime loads the
filter after setting NNP or before dropping capabilities. Everything after the load runs filtered,
including the runtime's own last steps up to execve; the caller picks that point.

Building with libseccomp costs ~14 ms for Docker's default profile, installing the BPF ~1.5 ms, so
the runtime fetches the program on the host side, where the cache directory is visible, and
installs it in the container's init after pivot_root::

    validate(seccomp_spec)                                   # at create; errors name the field
    program = bpf_program(seccomp_spec, "/run/hako/seccomp") # host side, before pivot_root
    ...
    load_program(program, kernel_flags(seccomp_spec))        # in the init, last thing before execve

Errors are ``SeccompError`` (a ``ConfigError``), one line naming the field or the setting.
"""

from __future__ import annotations

import errno
import json
import os

from .errors import ConfigError

try:  # the builtin BLAKE2, as random.py does for SHA-512: hashlib loads OpenSSL (~3 ms)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - CPython always has it
    from hashlib import blake2b


class SeccompError(ConfigError):
    """A seccomp setting is malformed, unsupported here, or the kernel refused the filter."""


ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
})
UNSUPPORTED_ACTIONS = frozenset({"SCMP_ACT_NOTIFY"})  # needs a listener (listenerPath) hako lacks
OPERATORS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})
# The runtime-spec's enum; whether libseccomp knows one is checked when the filter is built.
ARCHITECTURES = frozenset({
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
    "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
})
# OCI flag -> (libseccomp filter attribute, the kernel's SECCOMP_FILTER_FLAG_* bit for load_program).
# SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only matters for SCMP_ACT_NOTIFY and libseccomp 2.5 has
# no attribute for it, so it is refused by name.
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": ("CTL_TSYNC", 1),
    "SECCOMP_FILTER_FLAG_LOG": ("CTL_LOG", 2),
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": ("CTL_SSB", 4),
}
KNOWN_FLAGS = frozenset(FLAGS) | {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}
MAX_ARGS = 6  # a syscall has six argument registers
MAX_ERRNO = 0xFFFF  # SECCOMP_RET_DATA is 16 bits; larger values would be truncated silently
UINT64_MAX = 2**64 - 1
BPF_MAXINSNS = 4096  # include/uapi/linux/bpf_common.h
_SOCK_FILTER_SIZE = 8  # struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}
_FIELD = "linux.seccomp"


# --- validation (no libseccomp) -----------------------------------------------------------------


def validate(spec: dict) -> None:
    """Check the shape of an OCI ``linux.seccomp`` object; raise SeccompError naming the field."""
    if not isinstance(spec, dict):
        _fail(_FIELD, "must be an object")
    _action(spec.get("defaultAction"), f"{_FIELD}.defaultAction", required=True)
    _uint(spec.get("defaultErrnoRet"), f"{_FIELD}.defaultErrnoRet", MAX_ERRNO)
    for i, arch in enumerate(_array(spec.get("architectures"), f"{_FIELD}.architectures")):
        if arch not in ARCHITECTURES:
            _fail(f"{_FIELD}.architectures[{i}]", f"unknown architecture {arch!r}")
    for i, flag in enumerate(_array(spec.get("flags"), f"{_FIELD}.flags")):
        if flag not in KNOWN_FLAGS:
            _fail(f"{_FIELD}.flags[{i}]", f"unknown flag {flag!r}")
    for i, rule in enumerate(_array(spec.get("syscalls"), f"{_FIELD}.syscalls")):
        _validate_rule(rule, f"{_FIELD}.syscalls[{i}]")


def _validate_rule(rule: object, field: str) -> None:
    if not isinstance(rule, dict):
        _fail(field, "must be an object")
    names = rule.get("names")
    if not isinstance(names, list) or not names:
        _fail(f"{field}.names", "must be a non-empty array of syscall names")
    for j, name in enumerate(names):
        if not isinstance(name, str) or not name:
            _fail(f"{field}.names[{j}]", "must be a non-empty string")
    _action(rule.get("action"), f"{field}.action", required=True)
    _uint(rule.get("errnoRet"), f"{field}.errnoRet", MAX_ERRNO)
    for j, arg in enumerate(_array(rule.get("args"), f"{field}.args")):
        where = f"{field}.args[{j}]"
        if not isinstance(arg, dict):
            _fail(where, "must be an object")
        _uint(arg.get("index"), f"{where}.index", MAX_ARGS - 1, required=True)
        _uint(arg.get("value"), f"{where}.value", UINT64_MAX, required=True)
        _uint(arg.get("valueTwo"), f"{where}.valueTwo", UINT64_MAX)
        op = arg.get("op")
        if op is None:
            _fail(f"{where}.op", "is required")
        if op not in OPERATORS:
            _fail(f"{where}.op", f"unknown operator {op!r}")


def _fail(field: str, message: str) -> None:
    raise SeccompError(f"{field}: {message}")


def _action(value: object, field: str, required: bool = False) -> None:
    if value is None:
        if required:
            _fail(field, "is required")
        return
    if value not in ACTIONS:
        _fail(field, f"unknown action {value!r}")
    if value in UNSUPPORTED_ACTIONS:
        _fail(field, f"{value} is not supported")


def _uint(value: object, field: str, hi: int, required: bool = False) -> None:
    if value is None:
        if required:
            _fail(field, "is required")
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hi:
        _fail(field, f"must be an integer between 0 and {hi}, not {value!r}")


def _array(value: object, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(field, "must be an array")
    return value


# --- building the filter with libseccomp --------------------------------------------------------


def build_filter(spec: dict) -> "seccomp.SyscallFilter":
    """Translate an OCI ``linux.seccomp`` object into a libseccomp filter, not yet loaded."""
    import seccomp as sc  # noqa: PLC0415 - lazy: this module is on the start path, typing and the bindings are not

    validate(spec)
    default = _to_action(sc, spec["defaultAction"], spec.get("defaultErrnoRet"), f"{_FIELD}.defaultAction")
    try:
        filt = sc.SyscallFilter(default)
    except (RuntimeError, OSError, ValueError) as exc:
        raise SeccompError(f"{_FIELD}.defaultAction: libseccomp refused {spec['defaultAction']}: {exc}") from exc
    _set_attr(filt, sc.Attr.CTL_NNP, 0, f"{_FIELD}")  # the runtime owns no_new_privs
    for i, name in enumerate(spec.get("architectures") or ()):
        arch = getattr(sc.Arch, name.removeprefix("SCMP_ARCH_"), None)
        if arch is None:
            raise SeccompError(f"{_FIELD}.architectures[{i}]: {name} is not supported by this libseccomp")
        if not filt.exist_arch(arch):  # the native arch is always there already
            try:
                filt.add_arch(arch)
            except (RuntimeError, OSError) as exc:
                raise SeccompError(f"{_FIELD}.architectures[{i}]: cannot add {name}: {exc}") from exc
    for i, flag in enumerate(spec.get("flags") or ()):
        if flag not in FLAGS:
            raise SeccompError(f"{_FIELD}.flags[{i}]: {flag} is not supported")
        _set_attr(filt, getattr(sc.Attr, FLAGS[flag][0]), 1, f"{_FIELD}.flags[{i}]")
    for i, rule in enumerate(spec.get("syscalls") or ()):
        _add_rule(sc, filt, default, rule, f"{_FIELD}.syscalls[{i}]")
    return filt


def _to_action(sc: object, name: str, errno_ret: int | None, field: str) -> int:
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return sc.KILL
    if name == "SCMP_ACT_KILL_PROCESS":
        return sc.KILL_PROCESS
    if name == "SCMP_ACT_TRAP":
        return sc.TRAP
    if name == "SCMP_ACT_ERRNO":
        return sc.ERRNO(errno.EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_TRACE":
        return sc.TRACE(errno.EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_ALLOW":
        return sc.ALLOW
    if name == "SCMP_ACT_LOG":
        return sc.LOG
    raise SeccompError(f"{field}: {name} is not supported")  # unreachable after validate()


def _add_rule(sc: object, filt: object, default: int, rule: dict, field: str) -> None:
    action = _to_action(sc, rule["action"], rule.get("errnoRet"), f"{field}.action")
    if action == default:
        return  # redundant, and libseccomp refuses it with EACCES
    conditions = [_to_arg(sc, arg) for arg in rule.get("args") or ()]
    indexes = [arg["index"] for arg in rule.get("args") or ()]
    if len(set(indexes)) < len(indexes):
        # libseccomp cannot AND two comparisons of one argument; runc then adds one rule per
        # condition, which ORs them (Docker's profiles rely on this for e.g. personality).
        groups = [[c] for c in conditions]
    else:
        groups = [conditions]
    for name in rule["names"]:
        number = sc.resolve_syscall(sc.Arch.NATIVE, name)
        if number == -1:  # __NR_SCMP_ERROR: unknown to this libseccomp; runc skips it too
            continue
        for group in groups:
            try:
                filt.add_rule(action, number, *group)
            except (RuntimeError, OSError, ValueError) as exc:
                raise SeccompError(f"{field}: cannot add a rule for {name}: {exc}") from exc


def _to_arg(sc: object, arg: dict) -> object:
    op = getattr(sc, arg["op"].removeprefix("SCMP_CMP_"))
    return sc.Arg(arg["index"], op, arg["value"], arg.get("valueTwo") or 0)


def _set_attr(filt: object, attr: object, value: int, field: str) -> None:
    try:
        filt.set_attr(attr, value)
    except (RuntimeError, OSError, ValueError) as exc:
        raise SeccompError(f"{field}: libseccomp cannot set {attr}: {exc}") from exc


# --- loading ------------------------------------------------------------------------------------


def load(spec: dict, cache_dir: str | os.PathLike | None = None) -> None:
    """Install the filter described by ``spec`` into the calling process (all threads with TSYNC).

    With ``cache_dir`` the compiled BPF is kept there, keyed by the spec and the kernel, and later
    loads skip libseccomp entirely (see ``compile_bpf``).
    """
    if cache_dir is not None:
        load_bpf(compile_bpf(spec, cache_dir), kernel_flags(spec))
        return
    filt = build_filter(spec)
    try:
        filt.load()
    except (RuntimeError, OSError) as exc:
        raise SeccompError(f"{_FIELD}: the kernel refused the filter: {exc}") from exc


def kernel_flags(spec: dict) -> int:
    """The SECCOMP_FILTER_FLAG_* bits seccomp(2) needs for ``spec['flags']``."""
    bits = 0
    for i, flag in enumerate(spec.get("flags") or ()):
        if flag not in FLAGS:
            raise SeccompError(f"{_FIELD}.flags[{i}]: {flag} is not supported")
        bits |= FLAGS[flag][1]
    return bits


def cache_key(spec: dict) -> str:
    """Hash of the spec and of what else shapes the BPF: the machine and the kernel release
    (libseccomp probes the kernel's API level). Not libseccomp's version: keep ``cache_dir`` on a
    tmpfs such as /run so a package upgrade and a reboot meet an empty cache."""
    uname = os.uname()
    blob = json.dumps([1, uname.machine, uname.release, spec], sort_keys=True, separators=(",", ":"))
    return blake2b(blob.encode(), digest_size=32).hexdigest()


def bpf_program(spec: dict, cache_dir: str | os.PathLike) -> bytes:
    """The raw BPF program for ``spec``, from ``cache_dir`` or built into it (see compile_bpf)."""
    with open(compile_bpf(spec, cache_dir), "rb") as f:
        return f.read()


def compile_bpf(spec: dict, cache_dir: str | os.PathLike) -> str:
    """Return the path of ``spec``'s BPF program under ``cache_dir``, building it on a miss.

    The directory must be root-only: whoever can write there decides what containers may call.
    A new program is exported to a temporary file and renamed into place, so readers never see a
    partial one.
    """
    path = os.path.join(cache_dir, cache_key(spec) + ".bpf")
    if _usable(path):
        _check_private(cache_dir)
        return path
    filt = build_filter(spec)
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    _check_private(cache_dir)
    tmp = os.path.join(cache_dir, f"new-{os.getpid()}-{os.urandom(4).hex()}.bpf")
    try:
        with open(tmp, "wb") as f:
            filt.export_bpf(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, (RuntimeError, OSError)):
            raise SeccompError(f"{_FIELD}: cannot write the BPF program to {cache_dir}: {exc}") from exc
        raise
    return path


def _check_private(cache_dir: str | os.PathLike) -> None:
    st = os.stat(cache_dir)
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise SeccompError(f"{cache_dir}: the seccomp cache must be owned by uid {os.geteuid()}"
                           " and writable by no one else")


def _usable(path: str) -> bool:
    try:
        size = os.stat(path).st_size
    except OSError:
        return False
    return 0 < size <= BPF_MAXINSNS * _SOCK_FILTER_SIZE and size % _SOCK_FILTER_SIZE == 0


# seccomp(2) numbers, needed only when flags are set; prctl(2) cannot pass flags.
_NR_SECCOMP = {
    "x86_64": 317, "i386": 354, "i686": 354, "aarch64": 277, "armv7l": 383, "armv8l": 383,
    "riscv64": 277, "loongarch64": 277, "ppc64le": 358, "ppc64": 358, "s390x": 348,
}
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_SECCOMP_SET_MODE_FILTER = 1


def load_bpf(path: str | os.PathLike, flags: int = 0) -> None:
    """Install the raw BPF program in ``path`` (as written by ``export_bpf``); see load_program."""
    with open(path, "rb") as f:
        program = f.read()
    load_program(program, flags, what=os.fspath(path))


def load_program(program: bytes, flags: int = 0, what: str = "BPF program") -> None:
    """Install a raw BPF program (struct sock_filter[]) as a seccomp filter on this process.

    ``flags`` are SECCOMP_FILTER_FLAG_* bits (see ``kernel_flags``); without them this is
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), with them seccomp(SECCOMP_SET_MODE_FILTER).
    """
    count, rest = divmod(len(program), _SOCK_FILTER_SIZE)
    if rest or not 0 < count <= BPF_MAXINSNS:
        raise SeccompError(f"{what}: not a BPF program ({len(program)} bytes)")
    ctypes, libc, sock_fprog = _kernel_api()
    buf = ctypes.create_string_buffer(program, len(program))
    prog = sock_fprog(count, ctypes.addressof(buf))
    if flags:
        nr = _NR_SECCOMP.get(os.uname().machine)
        if nr is None:
            raise SeccompError(f"{_FIELD}.flags: seccomp(2) number unknown on {os.uname().machine}")
        result = libc.syscall(ctypes.c_long(nr), ctypes.c_ulong(_SECCOMP_SET_MODE_FILTER),
                              ctypes.c_ulong(flags), ctypes.byref(prog))
    else:
        result = libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0)
    if result != 0:
        err = ctypes.get_errno()
        raise SeccompError(f"{_FIELD}: the kernel refused the filter: {os.strerror(err)}")


_KERNEL_API: tuple | None = None


def _kernel_api() -> tuple:
    """(ctypes, libc, struct sock_fprog), made on first use: a zygote that loads once warms it."""
    global _KERNEL_API
    if _KERNEL_API is None:
        import ctypes  # noqa: PLC0415

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        libc = ctypes.CDLL(None, use_errno=True)  # our own handle: argtypes set here stay here
        libc.syscall.restype = ctypes.c_long
        libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong)
        _KERNEL_API = (ctypes, libc, SockFprog)
    return _KERNEL_API
