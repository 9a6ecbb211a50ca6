"""Capability names and the five capability sets of a process (capabilities(7))."""

from __future__ import annotations

from . import syscalls

NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
NUMBERS = {name: number for number, name in enumerate(NAMES)}


def last_cap() -> int:
    """The highest capability the running kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(NAMES) - 1


def supported() -> list[str]:
    return list(NAMES[: last_cap() + 1])


def unknown(names: list[str]) -> list[str]:
    return [n for n in names if n not in NUMBERS]


def mask(names: list[str]) -> int:
    """A bit mask of the named capabilities, skipping those the kernel does not know (as runc does)."""
    top = last_cap()
    bits = 0
    for name in names:
        number = NUMBERS[name]
        if number <= top:
            bits |= 1 << number
    return bits


def drop_bounding(bounding: list[str]) -> None:
    """Drop every capability not named from the bounding set; those already gone are skipped."""
    keep = mask(bounding)
    for number in range(last_cap() + 1):
        if not keep & (1 << number) and syscalls.prctl(syscalls.PR_CAPBSET_READ, number):
            syscalls.prctl(syscalls.PR_CAPBSET_DROP, number)


def apply(bounding: list[str], effective: list[str], permitted: list[str],
          inheritable: list[str], ambient: list[str]) -> None:
    """Set all five sets of the calling process. Call after the final setuid (with KEEPCAPS set),
    and before it ``drop_bounding``: a setuid away from root empties the effective set, and
    dropping from the bounding set needs CAP_SETPCAP there."""
    drop_bounding(bounding)
    syscalls.capset(mask(effective), mask(permitted), mask(inheritable))
    syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_CLEAR_ALL)
    # The kernel only raises an ambient capability that is both permitted and inheritable;
    # like runc, skip the others rather than fail (configs often list ambient alone).
    raisable = mask(permitted) & mask(inheritable)
    for name in ambient:
        number = NUMBERS[name]
        if raisable & (1 << number):
            syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_RAISE, number)
