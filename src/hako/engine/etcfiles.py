"""The /etc/hosts, /etc/hostname and /etc/resolv.conf hakod writes for each container and binds in.

A container on the host's network sees the host's files; one with its own namespace gets its
addresses, `--add-host` entries, and a resolv.conf from the host's or from `--dns*`, pointing at
the embedded DNS server on user-defined networks.
"""

from __future__ import annotations

import os
import re

HOSTS_BASE = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
              "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
_LOCAL_NAMESERVER = re.compile(r"^\s*nameserver\s+(127\.|::1\b)")


def write(directory: str, hostname: str, host_network: bool, addresses: list[str] | None = None,
          extra_hosts: list[str] | None = None, dns: list[str] | None = None, dns_search: list[str] | None = None,
          dns_options: list[str] | None = None, embedded_dns: bool = False) -> dict[str, str]:
    """Write the three files under ``directory``; return {container path: host path}.

    ``addresses`` are the container's own (its first one gets the hostname, as Docker writes it);
    ``embedded_dns`` points resolv.conf at hakod's server on 127.0.0.11 (user-defined networks)."""
    paths = {"/etc/hostname": os.path.join(directory, "hostname"),
             "/etc/hosts": os.path.join(directory, "hosts"),
             "/etc/resolv.conf": os.path.join(directory, "resolv.conf")}
    _write(paths["/etc/hostname"], hostname + "\n")
    extra = "".join(f"{address}\t{name}\n" for name, address in (_host_entry(e) for e in extra_hosts or []))
    if host_network:
        _write(paths["/etc/hosts"], (_read("/etc/hosts") or HOSTS_BASE) + extra)
        _write(paths["/etc/resolv.conf"], resolv_conf(_read("/etc/resolv.conf"), dns, dns_search, dns_options, False, True))
    else:
        own = f"{addresses[0]}\t{hostname}\n" if addresses else f"127.0.0.1\t{hostname}\n"
        _write(paths["/etc/hosts"], HOSTS_BASE + extra + own)
        _write(paths["/etc/resolv.conf"], resolv_conf(_read("/etc/resolv.conf"), dns, dns_search, dns_options,
                                                      embedded_dns, False))
    return paths


def _host_entry(entry: str) -> tuple[str, str]:
    """--add-host "name:address" (Docker also takes "name=address")."""
    sep = "=" if "=" in entry else ":"
    name, _, address = entry.partition(sep)
    return name, address.strip("[]")


def resolv_conf(host: str, dns: list[str] | None, search: list[str] | None, options: list[str] | None,
                embedded: bool, host_network: bool) -> str:
    """The container's resolv.conf from the host's and the --dns* flags, as Docker builds it."""
    if host_network and not (dns or search or options):
        return host
    servers, lines, host_search, host_options = [], [], [], []
    for line in host.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            # A nameserver on the host's loopback is unreachable from another network namespace.
            if host_network or not _LOCAL_NAMESERVER.match(line):
                servers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            host_search = fields[1:]
        elif fields[0] == "options":
            host_options = fields[1:]
    if embedded:
        servers = ["127.0.0.11"]
    elif dns:
        servers = list(dns)
    search = list(search) if search else host_search
    options = list(options) if options else host_options
    if embedded and "ndots:0" not in options and not any(o.startswith("ndots:") for o in options):
        options = ["ndots:0"] + options
    lines += [f"nameserver {s}" for s in servers]
    if search and search != ["."]:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + ("\n" if lines else "")


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
