"""hakod's configuration: command-line flags over /etc/hako/daemon.json over defaults."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

DEFAULT_SOCKET = "unix:///run/hako/hako.sock"
DEFAULT_CONFIG_FILE = "/etc/hako/daemon.json"


@dataclass
class DaemonConfig:
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_SOCKET])
    data_root: str = "/var/lib/hako"
    exec_root: str = "/run/hako"
    log_level: str = "info"
    log_driver: str = "json-file"
    log_opts: dict[str, str] = field(default_factory=dict)
    cgroup_parent: str = "/hako"
    debug: bool = False
    insecure_registries: list[str] = field(default_factory=list)   # plain HTTP or unverified TLS allowed
    registry_mirrors: list[str] = field(default_factory=list)      # tried before docker.io
    bridge: str = ""               # the default network's bridge; "" is hako0 (see network_bridge)
    bip: str = ""                  # the default bridge's address and prefix, "172.17.0.1/16"
    default_address_pools: list[dict] = field(default_factory=list)   # [{"base": "…/16", "size": 24}]

    @property
    def runtime_root(self) -> str:
        return os.path.join(self.exec_root, "runtime")

    @property
    def network_bridge(self) -> str:
        """hako0 for the daemon on the default exec root; another daemon on the same host (tests,
        a second instance) gets its own, named after its exec root, so they never share a bridge."""
        if self.bridge:
            return self.bridge
        if self.exec_root.rstrip("/") == "/run/hako":
            return "hako0"
        import hashlib

        return "hk" + hashlib.sha1(self.exec_root.encode()).hexdigest()[:8]


# daemon.json keys as Docker names them → our fields
_KEYS = {"hosts": "hosts", "data-root": "data_root", "exec-root": "exec_root", "log-level": "log_level",
         "log-driver": "log_driver", "log-opts": "log_opts", "cgroup-parent": "cgroup_parent", "debug": "debug",
         "insecure-registries": "insecure_registries", "registry-mirrors": "registry_mirrors",
         "bridge": "bridge", "bip": "bip", "default-address-pools": "default_address_pools"}


def load(path: str | None, overrides: dict) -> DaemonConfig:
    config = DaemonConfig()
    file_path = path or DEFAULT_CONFIG_FILE
    if os.path.exists(file_path):
        with open(file_path) as f:
            try:
                data = json.load(f)
            except ValueError as exc:
                raise ValueError(f"unable to configure the daemon with file {file_path}: {exc}") from None
        unknown = [k for k in data if k not in _KEYS]
        if unknown:
            raise ValueError(f"the following directives don't match any configuration option: {', '.join(unknown)}")
        for key, value in data.items():
            setattr(config, _KEYS[key], value)
    elif path:
        raise ValueError(f"open {path}: no such file or directory")
    for key, value in overrides.items():
        if value is not None:
            setattr(config, key, value)
    if config.debug:
        config.log_level = "debug"
    return config
