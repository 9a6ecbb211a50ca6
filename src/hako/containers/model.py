"""The container record: what a user asked for (config, host config) and where it is in its life.

The API layer turns Docker's JSON into these objects and back; the engine never sees Docker's
field names. States and the moves between them (Docker's):

    created ──start──▶ running ──exit──▶ exited ──start──▶ running …
                        │  ▲                 │
                  pause │  │ unpause         └──rm──▶ (gone)
                        ▼  │
                       paused

`restarting` is shown while a restart policy waits to start the container again.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
RESTARTING = "restarting"
EXITED = "exited"
DEAD = "dead"
REMOVING = "removing"


@dataclass
class Healthcheck:
    test: list[str] = field(default_factory=list)   # ["CMD", …], ["CMD-SHELL", "…"], ["NONE"]
    interval: int = 0          # nanoseconds; 0 means Docker's default (30 s)
    timeout: int = 0
    start_period: int = 0
    retries: int = 0


@dataclass
class ContainerConfig:
    image: str = ""
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=list)
    working_dir: str = ""
    user: str = ""
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    hostname: str = ""
    domainname: str = ""
    stop_signal: str = ""
    stop_timeout: int | None = None
    healthcheck: Healthcheck | None = None
    exposed_ports: dict[str, dict] = field(default_factory=dict)
    volumes: dict[str, dict] = field(default_factory=dict)


@dataclass
class RestartPolicy:
    name: str = "no"           # no, always, unless-stopped, on-failure
    maximum_retry_count: int = 0


@dataclass
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass
class MountRequest:
    """One entry of HostConfig.Mounts (`--mount`), validated."""
    type: str                  # bind, volume, tmpfs
    target: str
    source: str = ""
    readonly: bool = False
    propagation: str = ""      # bind: rprivate when empty
    nocopy: bool = False       # volume: no copy-up of the image's content
    labels: dict[str, str] = field(default_factory=dict)       # volume: for a new named volume
    driver: str = ""
    driver_options: dict[str, str] = field(default_factory=dict)
    tmpfs_size: int = 0
    tmpfs_mode: int = 0


@dataclass
class MountPoint:
    """A mount of the container as resolved at create: what inspect's Mounts shows.

    ``source`` is the host path for binds and volumes (a volume's Mountpoint); empty for tmpfs."""
    type: str                  # bind, volume, tmpfs
    destination: str
    source: str = ""
    name: str = ""             # a volume's name
    driver: str = ""
    mode: str = ""             # as Docker shows it: the -v options ("ro,z"), "" for --mount
    rw: bool = True
    propagation: str = ""
    copy_data: bool = False    # volume: fill an empty volume with the image's content at start
    anonymous: bool = False    # volume: made for this container, removed with `rm -v` / --rm
    tmpfs_options: list[str] = field(default_factory=list)


@dataclass
class HostConfig:
    binds: list[str] = field(default_factory=list)
    mounts: list[MountRequest] = field(default_factory=list)
    tmpfs: dict[str, str] = field(default_factory=dict)
    volumes_from: list[str] = field(default_factory=list)
    memory: int = 0
    memory_reservation: int = 0
    memory_swap: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int | None = None
    ulimits: list[Ulimit] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    readonly_rootfs: bool = False
    security_opt: list[str] = field(default_factory=list)
    init: bool = False
    auto_remove: bool = False
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    network_mode: str = "default"
    port_bindings: dict[str, list] = field(default_factory=dict)   # "80/tcp" → [[host ip, host port], …]
    publish_all_ports: bool = False
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    extra_hosts: list[str] = field(default_factory=list)           # "name:address"
    log_type: str = "json-file"
    log_opts: dict[str, str] = field(default_factory=dict)
    console_size: tuple[int, int] = (0, 0)
    shm_size: int = 0


@dataclass
class Health:
    status: str = "starting"   # starting, healthy, unhealthy
    failing_streak: int = 0
    log: list[dict] = field(default_factory=list)   # {"Start","End","ExitCode","Output"}, last 5


@dataclass
class ContainerState:
    status: str = CREATED
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    oom_killed: bool = False
    started_at: float = 0.0
    finished_at: float = 0.0
    restart_count: int = 0
    manually_stopped: bool = False   # `stop` was asked: unless-stopped and always respect it
    health: Health | None = None

    @property
    def running(self) -> bool:
        return self.status in (RUNNING, PAUSED, RESTARTING)

    def can_start(self) -> bool:
        return self.status in (CREATED, EXITED, DEAD, RESTARTING)

    def can_pause(self) -> bool:
        return self.status == RUNNING

    def can_unpause(self) -> bool:
        return self.status == PAUSED


@dataclass
class Container:
    id: str
    name: str                  # without Docker's leading "/"
    image_id: str              # "sha256:…"
    config: ContainerConfig
    host_config: HostConfig
    created: float = field(default_factory=time.time)
    state: ContainerState = field(default_factory=ContainerState)
    path: str = ""             # the process's executable and arguments, as resolved at create
    args: list[str] = field(default_factory=list)
    log_path: str = ""
    resolv_conf_path: str = ""
    hostname_path: str = ""
    hosts_path: str = ""
    driver: str = "overlay2"
    # At create only: the networks asked for besides the network mode's, {network: {"aliases",
    # "ipv4"}}; the network manager keeps them as endpoints from then on.
    networking: dict[str, dict] = field(default_factory=dict)
    mounts: list[MountPoint] = field(default_factory=list)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Container":
        cfg = dict(data["config"])
        if cfg.get("healthcheck"):
            cfg["healthcheck"] = Healthcheck(**cfg["healthcheck"])
        host = dict(data["host_config"])
        host["restart_policy"] = RestartPolicy(**host["restart_policy"])
        host["ulimits"] = [Ulimit(**u) for u in host.get("ulimits", [])]
        host["console_size"] = tuple(host.get("console_size") or (0, 0))
        host["mounts"] = [MountRequest(**m) for m in host.get("mounts", [])]
        state = dict(data["state"])
        if state.get("health"):
            state["health"] = Health(**state["health"])
        mounts = [MountPoint(**m) for m in data.get("mounts", [])]
        if "mounts" not in data and host.get("binds"):
            # A record from before mount points were kept: its binds were host paths only.
            from .mounts import bind_points

            mounts = bind_points(host["binds"])
        return cls(**{**data, "config": ContainerConfig(**cfg), "host_config": HostConfig(**host),
                      "state": ContainerState(**state), "mounts": mounts})


@dataclass
class ExecConfig:
    id: str
    container_id: str
    cmd: list[str]
    env: list[str] = field(default_factory=list)
    user: str = ""
    working_dir: str = ""
    tty: bool = False
    privileged: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    detach_keys: str = ""
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    console_size: tuple[int, int] = (0, 0)
