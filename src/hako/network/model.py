"""The records of networks and of endpoints (a container's attachment to one network)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

BRIDGE, HOST, NULL = "bridge", "host", "null"
PREDEFINED = {"bridge": BRIDGE, "host": HOST, "none": NULL}


@dataclass
class Network:
    id: str
    name: str
    driver: str = BRIDGE
    subnet: str = ""            # "172.18.0.0/16"; empty for host and null
    gateway: str = ""
    ip_range: str = ""
    bridge: str = ""            # the kernel bridge's name
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] = field(default_factory=dict)
    user_ipam: bool = False     # the subnet was given by the user (Docker shows IPAM.Config either way)
    created: float = field(default_factory=time.time)
    last_address: str = ""      # where the rolling allocator stopped (persisted: no quick reuse)

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    @property
    def user_defined(self) -> bool:
        return self.driver == BRIDGE and self.name != "bridge"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Network":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Endpoint:
    """A container on a network. ``aliases`` and ``static_ip`` are what was asked; ``ip``,
    ``mac`` and ``veth`` exist while the container runs."""
    container_id: str
    network_id: str
    id: str = ""
    aliases: list[str] = field(default_factory=list)
    static_ip: str = ""
    ip: str = ""
    mac: str = ""
    veth: str = ""
    ifname: str = ""            # inside the container: eth0, eth1 …
    ports: list[list] = field(default_factory=list)   # published: [container port, proto, host ip, host port]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Endpoint":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
