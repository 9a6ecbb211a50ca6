"""The devices every container gets, as runc gives them (its AllowedDevices)."""

from __future__ import annotations

# Created in the container's /dev when /dev is a fresh tmpfs: (path, type, major, minor).
DEFAULT_DEVICES = (
    ("/dev/null", "c", 1, 3),
    ("/dev/zero", "c", 1, 5),
    ("/dev/full", "c", 1, 7),
    ("/dev/random", "c", 1, 8),
    ("/dev/urandom", "c", 1, 9),
    ("/dev/tty", "c", 5, 0),
)


def _rule(kind: str, major: int | None, minor: int | None, access: str = "rwm") -> dict:
    rule = {"allow": True, "type": kind, "access": access}
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    return rule


# Appended after the config's own device cgroup rules, so a leading "deny all" still lets the
# container make its device nodes (mknod, "m") and use the standard ones.
DEFAULT_DEVICE_RULES = [
    _rule("c", None, None, "m"),
    _rule("b", None, None, "m"),
    *(_rule(kind, major, minor) for _, kind, major, minor in DEFAULT_DEVICES),
    _rule("c", 5, 1),      # /dev/console
    _rule("c", 5, 2),      # /dev/ptmx
    _rule("c", 136, None),  # /dev/pts/*
    _rule("c", 10, 200),   # /dev/net/tun
]


def with_default_rules(resources: dict) -> dict:
    """``resources`` with the default device rules appended (the config itself is not changed)."""
    merged = dict(resources)
    merged["devices"] = list(resources.get("devices") or []) + DEFAULT_DEVICE_RULES
    return merged
