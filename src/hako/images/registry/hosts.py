"""Where a registry domain is reached: mirrors, TLS and Docker's insecure-registry rules.

    config = RegistryConfig(insecure_registries=["10.0.0.0/8"], mirrors=["https://mirror.local"])
    endpoints("docker.io", config)
    # [Endpoint("https://mirror.local", mirror=True), Endpoint("https://registry-1.docker.io")]
    endpoints("localhost:5000", config)
    # [Endpoint("https://localhost:5000", insecure=True)]

An insecure endpoint is tried over https without certificate verification first and over plain
http when that fails, as dockerd does; ``RegistryConfig.plain_http_hosts`` remembers the hosts that
only answered over http, so later clients skip the failing https attempt.

A secure endpoint's certificate is verified against the system's CAs plus, as with dockerd's
``/etc/docker/certs.d/<host:port>/``, the ``*.crt`` files in ``<certs_dir>/<host:port>/``; a
``client.cert`` / ``client.key`` pair there is presented to registries asking for one.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DOCKER_HUB_DOMAIN = "docker.io"
DOCKER_HUB_REGISTRY = "registry-1.docker.io"

# Docker treats loopback registries as insecure without being told (registry/config.go).
_LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass
class RegistryConfig:
    insecure_registries: list[str] = field(default_factory=list)   # "host:port", "host" or a CIDR
    mirrors: list[str] = field(default_factory=list)                # URLs, used for docker.io only
    certs_dir: str = ""             # like /etc/docker/certs.d: <host:port>/*.crt, *.cert + *.key
    # Docker Hub's own endpoint, after the mirrors. A machine with no way out (or a test daemon,
    # which must never reach beyond this host) points it somewhere local.
    hub_url: str = f"https://{DOCKER_HUB_REGISTRY}"
    # Learned at run time, shared by every client made from this config.
    plain_http_hosts: set[str] = field(default_factory=set, compare=False, repr=False)


@dataclass(frozen=True)
class Endpoint:
    url: str                 # "https://host:port", no trailing slash
    mirror: bool = False
    insecure: bool = False   # no TLS verification, and plain http as a fallback

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


def endpoints(domain: str, config: RegistryConfig) -> list[Endpoint]:
    """The endpoints to try for ``domain``, best first."""
    if domain in (DOCKER_HUB_DOMAIN, "index.docker.io", DOCKER_HUB_REGISTRY):
        found = [_mirror_endpoint(url, config) for url in config.mirrors]
        if config.hub_url.startswith("https://"):
            found.append(Endpoint(config.hub_url.rstrip("/")))
        else:
            found.append(_mirror_endpoint(config.hub_url, config))
        return found
    return [Endpoint(f"https://{domain}", insecure=is_insecure(domain, config))]


def _mirror_endpoint(url: str, config: RegistryConfig) -> Endpoint:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    insecure = parts.scheme == "http" or is_insecure(parts.netloc, config)
    return Endpoint(base, mirror=True, insecure=insecure)


def is_insecure(host: str, config: RegistryConfig) -> bool:
    """True if ``host`` ("name", "name:port", "[v6]:port") is an insecure registry, as dockerd
    decides it: an exact "host:port" or "host" entry, a CIDR holding one of its addresses, or
    loopback."""
    hostname = _hostname(host)
    networks = []
    for entry in config.insecure_registries:
        entry = entry.strip()
        if "://" in entry:          # daemon.json tolerates a scheme here; dockerd strips it
            entry = urlsplit(entry).netloc
        if entry in (host, hostname):
            return True
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            pass
    if hostname == "localhost":
        return True
    addresses = _addresses(hostname, resolve=bool(networks))
    all_networks = (*_LOOPBACK_NETWORKS, *networks)
    return any(address.version == net.version and address in net
               for address in addresses for net in all_networks)


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:host.index("]")]
    if host.count(":") == 1:
        return host.rsplit(":", 1)[0]
    return host


def _addresses(hostname: str, resolve: bool) -> list:
    try:
        return [ipaddress.ip_address(hostname)]
    except ValueError:
        pass
    if not resolve:
        return []
    # Like dockerd, a name is resolved only to match CIDR entries; failure means "not insecure".
    try:
        infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def tls_context(endpoint: Endpoint, config: RegistryConfig):
    """What aiohttp's ``ssl=`` gets for ``endpoint``: False (no verification) for an insecure one,
    None (the system's defaults) unless ``certs_dir`` has files for the host, else a context
    trusting them too."""
    if endpoint.insecure:
        return False
    folder = os.path.join(config.certs_dir, endpoint.host) if config.certs_dir else ""
    if not folder or not os.path.isdir(folder):
        return None
    context = ssl.create_default_context()
    for ca_file in sorted(glob.glob(os.path.join(folder, "*.crt"))):
        context.load_verify_locations(cafile=ca_file)
    for cert_file in sorted(glob.glob(os.path.join(folder, "*.cert"))):
        key_file = cert_file[:-len(".cert")] + ".key"
        if os.path.exists(key_file):       # dockerd refuses a lone half; skipping it is gentler
            context.load_cert_chain(cert_file, key_file)
    return context
