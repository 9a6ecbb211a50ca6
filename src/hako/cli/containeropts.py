"""`run`/`create` flags and the `POST /containers/create` body they make.

`build_create_request` reproduces the body docker's CLI sends, field for field and in docker's
order (see docker-cli-trace.md, Appendix A): every HostConfig field is present with its zero
value, ``Healthcheck``/``StopSignal``/``StopTimeout`` only when asked for, and the network
endpoint block only for the default network. Validation that docker does on the client
(conflicting options, bad port specs, negative health settings) raises `OptionError`, which `run`
prints as ``hako: <message>`` with status 125.

Example::

    values, args = flags.parse(RUN_FLAGS, ["--rm", "-e", "A=1", "busybox", "echo", "hi"],
                               interspersed=False)
    name, body = build_create_request(values, args, environ={}, detach=False)
    # body["Cmd"] == ["echo", "hi"], body["HostConfig"]["AutoRemove"] is True
"""

from __future__ import annotations

import os

from .flags import BOOL, INT, LIST, STRING, Flag
from .optvalues import ATTACH, BYTES, DECIMAL, DURATION, ENV, MEMSWAP, UINT16, ULIMIT


class OptionError(Exception):
    """A flag combination or value docker's CLI refuses before calling the API."""


# Flags shared by `run` and `create`, with docker's names and help.
CONTAINER_FLAGS = (
    Flag("add-host", None, LIST, help="Add a custom host-to-IP mapping (host:ip)"),
    Flag("attach", "a", ATTACH, help="Attach to STDIN, STDOUT or STDERR"),
    Flag("blkio-weight", None, UINT16, help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"),
    Flag("cap-add", None, LIST, help="Add Linux capabilities"),
    Flag("cap-drop", None, LIST, help="Drop Linux capabilities"),
    Flag("cgroup-parent", None, STRING, help="Optional parent cgroup for the container"),
    Flag("cgroupns", None, STRING, help="Cgroup namespace to use (host|private)"),
    Flag("cidfile", None, STRING, help="Write the container ID to the file"),
    Flag("cpu-period", None, INT, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    Flag("cpu-quota", None, INT, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
    Flag("cpus", None, DECIMAL, help="Number of CPUs"),
    Flag("cpuset-cpus", None, STRING, help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("cpuset-mems", None, STRING, help="MEMs in which to allow execution (0-3, 0,1)"),
    Flag("dns", None, LIST, help="Set custom DNS servers"),
    Flag("dns-option", None, LIST, help="Set DNS options"),
    Flag("dns-search", None, LIST, help="Set custom DNS search domains"),
    Flag("domainname", None, STRING, help="Container NIS domain name"),
    Flag("entrypoint", None, STRING, default=None, help="Overwrite the default ENTRYPOINT of the image"),
    Flag("env", "e", ENV, help="Set environment variables"),
    Flag("env-file", None, LIST, help="Read in a file of environment variables"),
    Flag("expose", None, LIST, help="Expose a port or a range of ports"),
    Flag("group-add", None, LIST, help="Add additional groups to join"),
    Flag("health-cmd", None, STRING, help="Command to run to check health"),
    Flag("health-interval", None, DURATION, help="Time between running the check (ms|s|m|h) (default 0s)"),
    Flag("health-retries", None, INT, help="Consecutive failures needed to report unhealthy"),
    Flag("health-start-interval", None, DURATION, help="Time between running the check during the start period (ms|s|m|h) (default 0s)"),
    Flag("health-start-period", None, DURATION, help="Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)"),
    Flag("health-timeout", None, DURATION, help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
    Flag("hostname", "h", STRING, help="Container host name"),
    Flag("init", None, BOOL, help="Run an init inside the container that forwards signals and reaps processes"),
    Flag("interactive", "i", BOOL, help="Keep STDIN open even if not attached"),
    Flag("ip", None, STRING, help="IPv4 address (e.g., 172.30.100.104)"),
    Flag("ipc", None, STRING, help="IPC mode to use"),
    Flag("label", "l", LIST, help="Set meta data on a container"),
    Flag("label-file", None, LIST, help="Read in a line delimited file of labels"),
    Flag("log-driver", None, STRING, help="Logging driver for the container"),
    Flag("log-opt", None, LIST, help="Log driver options"),
    Flag("memory", "m", BYTES, help="Memory limit"),
    Flag("memory-reservation", None, BYTES, help="Memory soft limit"),
    Flag("memory-swap", None, MEMSWAP, help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    Flag("memory-swappiness", None, INT, default=-1, help="Tune container memory swappiness (0 to 100) (default -1)"),
    Flag("mount", None, LIST, help="Attach a filesystem mount to the container"),
    Flag("name", None, STRING, help="Assign a name to the container"),
    Flag("network", None, STRING, help="Connect a container to a network"),
    Flag("net", None, STRING, dest="network", hidden=True),
    Flag("network-alias", None, LIST, help="Add network-scoped alias for the container"),
    Flag("net-alias", None, LIST, dest="network_alias", hidden=True),
    Flag("no-healthcheck", None, BOOL, help="Disable any container-specified HEALTHCHECK"),
    Flag("oom-kill-disable", None, BOOL, help="Disable OOM Killer"),
    Flag("oom-score-adj", None, INT, help="Tune host's OOM preferences (-1000 to 1000)"),
    Flag("pid", None, STRING, help="PID namespace to use"),
    Flag("pids-limit", None, INT, help="Tune container pids limit (set -1 for unlimited)"),
    Flag("platform", None, STRING, help="Set platform if server is multi-platform capable"),
    Flag("privileged", None, BOOL, help="Give extended privileges to this container"),
    Flag("publish", "p", LIST, help="Publish a container's port(s) to the host"),
    Flag("publish-all", "P", BOOL, help="Publish all exposed ports to random ports"),
    Flag("pull", None, STRING, default="missing", help='Pull image before running ("always", "missing", "never")'),
    Flag("quiet", "q", BOOL, help="Suppress the pull output"),
    Flag("read-only", None, BOOL, help="Mount the container's root filesystem as read only"),
    Flag("restart", None, STRING, default="no", help="Restart policy to apply when a container exits"),
    Flag("rm", None, BOOL, help="Automatically remove the container and its associated anonymous volumes when it exits"),
    Flag("runtime", None, STRING, help="Runtime to use for this container"),
    Flag("security-opt", None, LIST, help="Security Options"),
    Flag("shm-size", None, BYTES, help="Size of /dev/shm"),
    Flag("stop-signal", None, STRING, help="Signal to stop the container"),
    Flag("stop-timeout", None, INT, default=None, help="Timeout (in seconds) to stop a container"),
    Flag("sysctl", None, LIST, help="Sysctl options"),
    Flag("tmpfs", None, LIST, help="Mount a tmpfs directory"),
    Flag("tty", "t", BOOL, help="Allocate a pseudo-TTY"),
    Flag("ulimit", None, ULIMIT, help="Ulimit options"),
    Flag("user", "u", STRING, help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("userns", None, STRING, help="User namespace to use"),
    Flag("uts", None, STRING, help="UTS namespace to use"),
    Flag("volume", "v", LIST, help="Bind mount a volume"),
    Flag("volumes-from", None, LIST, help="Mount volumes from the specified container(s)"),
    Flag("workdir", "w", STRING, help="Working directory inside the container"),
)

RUN_ONLY_FLAGS = (
    Flag("detach", "d", BOOL, help="Run container in background and print container ID"),
    Flag("detach-keys", None, STRING, help="Override the key sequence for detaching a container"),
    Flag("sig-proxy", None, BOOL, default=True, help="Proxy received signals to the process"),
)

RUN_FLAGS = CONTAINER_FLAGS + RUN_ONLY_FLAGS
CREATE_FLAGS = CONTAINER_FLAGS

# The endpoint block docker sends for the default network (fields newer than 1.41 included;
# servers ignore what they do not know).
_DEFAULT_ENDPOINT = (
    ("IPAMConfig", None), ("Links", None), ("Aliases", None), ("MacAddress", ""),
    ("DriverOpts", None), ("GwPriority", 0), ("NetworkID", ""), ("EndpointID", ""),
    ("Gateway", ""), ("IPAddress", ""), ("IPPrefixLen", 0), ("IPv6Gateway", ""),
    ("GlobalIPv6Address", ""), ("GlobalIPv6PrefixLen", 0), ("DNSNames", None),
)


def build_create_request(opts: dict, args: list[str], *, environ, detach: bool,
                         console_size: tuple[int, int] = (0, 0), cwd: str | None = None):
    """Return ``(name, body)`` for ``POST /containers/create?name=…``. ``args`` is
    ``[IMAGE, CMD…]``; ``detach`` is run's ``-d`` (create never attaches stdin)."""
    image, cmd = args[0], args[1:]
    attach = set(opts["attach"])
    attach_stdin = "stdin" in attach or opts["interactive"]
    attach_stdout = "stdout" in attach or not attach
    attach_stderr = "stderr" in attach or not attach
    if detach:
        attach_stdin = attach_stdout = attach_stderr = False
    if opts["rm"] and opts["restart"] not in ("", "no"):
        raise OptionError("conflicting options: cannot specify both --restart and --rm")

    exposed, bindings = parse_ports(opts["publish"], opts["expose"])
    binds, volumes = parse_volumes(opts["volume"], cwd or os.getcwd())
    network = opts["network"] or "default"

    body: dict = {
        "Hostname": opts["hostname"],
        "Domainname": opts["domainname"],
        "User": opts["user"],
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_stdout,
        "AttachStderr": attach_stderr,
    }
    if exposed:
        body["ExposedPorts"] = exposed
    body["Tty"] = opts["tty"]
    body["OpenStdin"] = opts["interactive"]
    body["StdinOnce"] = attach_stdin and opts["interactive"]
    body["Env"] = environment(opts, environ) or None
    body["Cmd"] = cmd or None
    health = healthcheck(opts)
    if health is not None:
        body["Healthcheck"] = health
    body["Image"] = image
    body["Volumes"] = volumes
    body["WorkingDir"] = opts["workdir"]
    body["Entrypoint"] = None if opts["entrypoint"] is None else [opts["entrypoint"]]
    body["OnBuild"] = None
    body["Labels"] = labels(opts)
    if opts["stop_signal"]:
        body["StopSignal"] = opts["stop_signal"]
    if opts["stop_timeout"] is not None:
        body["StopTimeout"] = opts["stop_timeout"]
    body["HostConfig"] = host_config(opts, binds, bindings, network, console_size)
    endpoints = {"default": dict(_DEFAULT_ENDPOINT)} if network == "default" else {}
    if opts["ip"] or opts["network_alias"]:
        endpoint = endpoints.setdefault(network, dict(_DEFAULT_ENDPOINT))
        endpoint["IPAMConfig"] = {"IPv4Address": opts["ip"]} if opts["ip"] else None
        endpoint["Aliases"] = list(opts["network_alias"]) or None
    body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return opts["name"], body


def host_config(opts: dict, binds, bindings, network: str, console_size) -> dict:
    log_config = {}
    for item in opts["log_opt"]:
        key, _, value = item.partition("=")
        log_config[key] = value
    hc: dict = {
        "Binds": binds or None,
        "ContainerIDFile": opts["cidfile"],
        "LogConfig": {"Type": opts["log_driver"], "Config": log_config},
        "NetworkMode": network,
        "PortBindings": bindings,
        "RestartPolicy": restart_policy(opts["restart"]),
        "AutoRemove": opts["rm"],
        "VolumeDriver": "",
        "VolumesFrom": opts["volumes_from"] or None,
        "ConsoleSize": list(console_size),
        "CapAdd": normalize_caps(opts["cap_add"]),
        "CapDrop": normalize_caps(opts["cap_drop"]),
        "CgroupnsMode": opts["cgroupns"],
        "Dns": list(opts["dns"]),
        "DnsOptions": list(opts["dns_option"]),
        "DnsSearch": list(opts["dns_search"]),
        "ExtraHosts": opts["add_host"] or None,
        "GroupAdd": opts["group_add"] or None,
        "IpcMode": opts["ipc"],
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": opts["oom_score_adj"],
        "PidMode": opts["pid"],
        "Privileged": opts["privileged"],
        "PublishAllPorts": opts["publish_all"],
        "ReadonlyRootfs": opts["read_only"],
        "SecurityOpt": opts["security_opt"] or None,
    }
    if opts["mount"]:
        from .mountopt import parse_mount

        try:
            hc["Mounts"] = [parse_mount(m) for m in opts["mount"]]
        except ValueError as exc:
            raise OptionError(f'invalid argument "{opts["mount"][-1]}" for "--mount" flag: {exc}') from None
    if opts["tmpfs"]:
        hc["Tmpfs"] = {path: options for path, _, options in (t.partition(":") for t in opts["tmpfs"])}
    hc["UTSMode"] = opts["uts"]
    hc["UsernsMode"] = opts["userns"]
    hc["ShmSize"] = opts["shm_size"]
    if opts["sysctl"]:
        hc["Sysctls"] = {k: v for k, _, v in (s.partition("=") for s in opts["sysctl"])}
    if opts["runtime"]:
        hc["Runtime"] = opts["runtime"]
    hc["Isolation"] = ""
    hc.update(resources(opts))
    hc["MaskedPaths"] = None
    hc["ReadonlyPaths"] = None
    if opts["init"]:
        hc["Init"] = True
    return hc


def resources(opts: dict) -> dict:
    """The Resources part of HostConfig (also what `update` sends)."""
    return {
        "CpuShares": opts["cpu_shares"],
        "Memory": opts["memory"],
        "NanoCpus": opts["cpus"],
        "CgroupParent": opts["cgroup_parent"],
        "BlkioWeight": opts["blkio_weight"],
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": opts["cpu_period"],
        "CpuQuota": opts["cpu_quota"],
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": opts["cpuset_cpus"],
        "CpusetMems": opts["cpuset_mems"],
        "Devices": [],
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "MemoryReservation": opts["memory_reservation"],
        "MemorySwap": opts["memory_swap"],
        "MemorySwappiness": opts["memory_swappiness"],
        "OomKillDisable": opts["oom_kill_disable"],
        "PidsLimit": opts["pids_limit"],
        "Ulimits": sorted(opts["ulimit"], key=lambda u: u["Name"]),
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
    }


# -- pieces ---------------------------------------------------------------------------------

def environment(opts: dict, environ) -> list[str]:
    """Env-file entries first, then ``-e`` entries, as docker orders them. ``-e K`` takes K's
    value from our environment when set (and stays ``K`` otherwise); a bare ``K`` line in an
    env file is dropped when K is unset."""
    result = []
    for path in opts["env_file"]:
        result += read_kv_file(path, environ)
    for entry in opts["env"]:
        if "=" not in entry and entry in environ:
            entry = f"{entry}={environ[entry]}"
        result.append(entry)
    return result


def labels(opts: dict) -> dict:
    result = {}
    for path in opts["label_file"]:
        for line in read_kv_file(path, None):
            key, _, value = line.partition("=")
            result[key] = value
    for item in opts["label"]:
        key, _, value = item.partition("=")
        result[key] = value
    return result


def read_kv_file(path: str, environ) -> list[str]:
    """docker's env-file format: ``K=V`` lines, ``#`` comments, blank lines; a line with only a
    name passes the variable through from ``environ`` (or is dropped; labels keep it)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise OptionError(f"open {path}: {_strerror(exc)}") from None
    out = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = raw.lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        name, has_value, value = line.partition("=")
        if any(ch in name for ch in " \t"):
            raise OptionError(f"variable '{name}' contains whitespaces")
        if not name:
            raise OptionError(f"no variable name on line '{raw}'")
        if has_value:
            out.append(f"{name}={value}")
        elif environ is None:
            out.append(name.strip())
        elif name.strip() in environ:
            out.append(f"{name.strip()}={environ[name.strip()]}")
    return out


def healthcheck(opts: dict) -> dict | None:
    names = ("health_cmd", "health_interval", "health_timeout", "health_start_period",
             "health_retries", "health_start_interval")
    have = any(opts[n] for n in names)
    if opts["no_healthcheck"]:
        if have:
            raise OptionError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not have:
        return None
    for flag, key in (("--health-interval", "health_interval"), ("--health-timeout", "health_timeout"),
                      ("--health-retries", "health_retries"),
                      ("--health-start-period", "health_start_period"),
                      ("--health-start-interval", "health_start_interval")):
        if opts[key] < 0:
            raise OptionError(f"{flag} cannot be negative")
    health: dict = {}
    if opts["health_cmd"]:
        health["Test"] = ["CMD-SHELL", opts["health_cmd"]]
    for key, field in (("health_interval", "Interval"), ("health_timeout", "Timeout"),
                       ("health_start_period", "StartPeriod"),
                       ("health_start_interval", "StartInterval"), ("health_retries", "Retries")):
        if opts[key]:
            health[field] = opts[key]
    return health


def restart_policy(text: str) -> dict:
    """docker's ParseRestartPolicy; the name itself is checked by the daemon."""
    if not text:
        return {"Name": "", "MaximumRetryCount": 0}
    name, sep, count = text.partition(":")
    if sep and not name:
        raise OptionError("invalid restart policy format: no policy provided before colon")
    retries = 0
    if count:
        try:
            retries = int(count)
        except ValueError:
            raise OptionError("invalid restart policy format: maximum retry count must be an integer") from None
    return {"Name": name, "MaximumRetryCount": retries}


def normalize_caps(caps: list[str]) -> list[str] | None:
    """``net_admin`` -> ``CAP_NET_ADMIN``; ``ALL`` stays."""
    if not caps:
        return None
    out = []
    for cap in caps:
        cap = cap.upper()
        if cap != "ALL" and not cap.startswith("CAP_"):
            cap = "CAP_" + cap
        out.append(cap)
    return out


def parse_volumes(specs: list[str], cwd: str) -> tuple[list[str], dict]:
    """``-v`` specs: ``src:dst[:opts]`` become Binds (a relative ``./src`` made absolute, as
    docker does since 23.0); a lone ``/path`` is an anonymous volume in Volumes."""
    binds, volumes = [], {}
    for spec in specs:
        parts = spec.split(":")
        if len(parts) == 1:
            volumes[spec] = {}
            continue
        source = parts[0]
        if source in (".", "..") or source.startswith(("./", "../")):
            source = os.path.normpath(os.path.join(cwd, source))
            spec = ":".join([source] + parts[1:])
        binds.append(spec)
    return binds, volumes


def parse_ports(publish: list[str], expose: list[str]) -> tuple[dict, dict]:
    """``-p [ip:][hostPort:]containerPort[/proto]`` (ranges allowed) and ``--expose port[-end]``
    -> ``(ExposedPorts, PortBindings)``."""
    exposed: dict = {}
    bindings: dict = {}
    for spec in publish:
        for port, binding in _port_mappings(spec):
            exposed[port] = {}
            bindings.setdefault(port, []).append(binding)
    for spec in expose:
        proto = "tcp"
        if "/" in spec:
            spec, proto = spec.split("/", 1)
        start, end = _port_range(spec, "invalid range format for --expose: ")
        for p in range(start, end + 1):
            exposed[f"{p}/{proto}"] = {}
    return exposed, bindings


def _port_mappings(spec: str):
    raw, proto = spec, "tcp"
    if "/" in raw:
        raw, proto = raw.rsplit("/", 1)
    # [ip:]hostPort:containerPort, where ip may be [v6]
    ip = ""
    if raw.startswith("["):
        end = raw.find("]")
        ip, raw = raw[1:end], raw[end + 2:]
    parts = raw.split(":")
    if len(parts) == 1:
        host_port, container_port = "", parts[0]
    elif len(parts) == 2:
        host_port, container_port = parts
    else:
        ip = ip or ":".join(parts[:-2])
        host_port, container_port = parts[-2], parts[-1]
    if not container_port:
        raise OptionError(f"no port specified: {spec}<empty>")
    start, end = _port_range(container_port, "invalid containerPort: ", whole=container_port)
    if host_port:
        h_start, h_end = _port_range(host_port, "invalid hostPort: ", whole=host_port)
    else:
        h_start = h_end = None
    count = end - start + 1
    if h_start is not None and h_end - h_start + 1 != count and h_end != h_start:
        if count != 1:
            raise OptionError(f"invalid ranges specified for container and host Ports: {container_port} and {host_port}")
    for i in range(count):
        port = f"{start + i}/{proto}"
        if h_start is None:
            host = ""
        elif h_end - h_start + 1 == count:
            host = str(h_start + i)
        else:
            host = host_port  # one container port, a range of host ports: the daemon picks
        yield port, {"HostIp": ip, "HostPort": host}


def _port_range(text: str, prefix: str, whole: str | None = None) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        start = int(low)
        end = int(high) if sep else start
    except ValueError:
        raise OptionError(f"{prefix}{whole or text}") from None
    if not (0 <= start <= 65535 and 0 <= end <= 65535) or end < start:
        raise OptionError(f"{prefix}{whole or text}")
    return start, end


def _strerror(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower() if exc.errno else str(exc)
