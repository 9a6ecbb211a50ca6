"""The /etc/hosts, /etc/hostname and /etc/resolv.conf hakod writes for each container and binds in.

Until container networks exist (the networking issue), a container either shares the host's
network (its files mirror the host's) or has loopback only.
"""

from __future__ import annotations

import os
import re

HOSTS_BASE = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
              "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
_LOCAL_NAMESERVER = re.compile(r"^\s*nameserver\s+(127\.|::1\b)")


def write(directory: str, hostname: str, host_network: bool) -> dict[str, str]:
    """Write the three files under ``directory``; return {container path: host path}."""
    paths = {"/etc/hostname": os.path.join(directory, "hostname"),
             "/etc/hosts": os.path.join(directory, "hosts"),
             "/etc/resolv.conf": os.path.join(directory, "resolv.conf")}
    _write(paths["/etc/hostname"], hostname + "\n")
    if host_network:
        _write(paths["/etc/hosts"], _read("/etc/hosts") or HOSTS_BASE)
        _write(paths["/etc/resolv.conf"], _read("/etc/resolv.conf"))
    else:
        _write(paths["/etc/hosts"], HOSTS_BASE + f"127.0.0.1\t{hostname}\n")
        # A nameserver on the host's loopback is unreachable from another network namespace.
        lines = [line for line in _read("/etc/resolv.conf").splitlines(keepends=True)
                 if not _LOCAL_NAMESERVER.match(line)]
        _write(paths["/etc/resolv.conf"], "".join(lines))
    return paths


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
