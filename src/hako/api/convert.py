"""Docker's JSON ↔ hako's engine objects, in one place: parse once on the way in, render once out.

Fields Docker defines but hako does not act on are refused with a 400 naming them when they would
change behaviour (a device mapping, a memory swappiness …); unknown and newer fields are ignored.
"""

from __future__ import annotations

import datetime
import time

from ..containers import ocispec
from ..containers.imageconfig import merge_env
from ..containers.model import (PAUSED, RESTARTING, RUNNING, Container, ContainerConfig, ExecConfig,
                                Healthcheck, HostConfig, RestartPolicy, Ulimit)
from ..errdefs import InvalidArgument, Unsupported
from ..humanize import human_duration
from . import mounts_json
from . import networks as network_json

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(ts: float) -> str:
    if not ts:
        return ZERO_TIME
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    nanos = int(round((ts - int(ts)) * 1e9))
    if nanos >= 1_000_000_000:
        nanos = 999_999_999
    frac = f"{nanos:09d}".rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def _json_type(value) -> str:
    """How Go's encoding/json names a JSON value's type in its "cannot unmarshal" errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


def _list(value, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise InvalidArgument(f"json: cannot unmarshal {_json_type(value)} into Go struct field {field} of type []string")
    for item in value:
        if not isinstance(item, str):
            raise InvalidArgument(f"json: cannot unmarshal {_json_type(item)} into Go struct field {field} of type string")
    return list(value)


def _int(value, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise InvalidArgument(f"json: cannot unmarshal {_json_type(value)} into Go struct field {field} of type int64")
    return int(value)


def _dict(value, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"json: cannot unmarshal {_json_type(value)} into Go struct field {field} of type map")
    return value


# Fields of HostConfig that would change what the container is, which hako does not do yet.
_UNSUPPORTED_HOST = {
    "Devices": "device mappings", "DeviceRequests": "device requests", "Links": "links",
    "Sysctls": "--sysctl",
    "CpuRealtimePeriod": "real-time CPU periods", "IOMaximumBandwidth": "IO limits",
    "BlkioWeight": "block IO weight", "BlkioDeviceReadBps": "block IO limits",
    "BlkioDeviceWriteBps": "block IO limits",
    "UsernsMode": "user namespace modes", "Runtime": "other runtimes",
}


def parse_create(body: dict) -> Container:
    if not isinstance(body, dict):
        raise InvalidArgument("config cannot be empty in order to create a container")
    host = _dict(body.get("HostConfig"), "HostConfig")
    for key, what in _UNSUPPORTED_HOST.items():
        value = host.get(key)
        if value and value != "runc" and not (key == "PublishAllPorts" and value is False):
            raise Unsupported(f"HostConfig.{key} ({what}) is not supported by hako yet")
    if host.get("PidMode") or host.get("IpcMode") not in (None, "", "private", "shareable"):
        raise Unsupported("HostConfig.PidMode/IpcMode: sharing pid or ipc namespaces is not supported by hako yet")
    health = body.get("Healthcheck")
    config = ContainerConfig(
        image=body.get("Image") or "",
        cmd=_list(body["Cmd"], "Config.Cmd") if body.get("Cmd") is not None else None,
        entrypoint=_list(body["Entrypoint"], "Config.Entrypoint") if body.get("Entrypoint") is not None else None,
        env=_list(body.get("Env"), "Config.Env"),
        working_dir=body.get("WorkingDir") or "",
        user=body.get("User") or "",
        tty=bool(body.get("Tty")),
        open_stdin=bool(body.get("OpenStdin")),
        stdin_once=bool(body.get("StdinOnce")),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout")),
        attach_stderr=bool(body.get("AttachStderr")),
        labels={str(k): str(v) for k, v in _dict(body.get("Labels"), "Config.Labels").items()},
        hostname=body.get("Hostname") or "",
        domainname=body.get("Domainname") or "",
        stop_signal=body.get("StopSignal") or "",
        stop_timeout=body.get("StopTimeout"),
        healthcheck=_health(health) if health else None,
        exposed_ports=_dict(body.get("ExposedPorts"), "Config.ExposedPorts"),
        volumes=_dict(body.get("Volumes"), "Config.Volumes"),
    )
    if config.entrypoint == [] and body.get("Entrypoint") == [""]:
        config.entrypoint = []
    if config.stop_signal:
        _check_signal(config.stop_signal)
    restart = _dict(host.get("RestartPolicy"), "HostConfig.RestartPolicy")
    log_config = _dict(host.get("LogConfig"), "HostConfig.LogConfig")
    console = host.get("ConsoleSize") or [0, 0]
    host_config = HostConfig(
        binds=_list(host.get("Binds"), "HostConfig.Binds"),
        mounts=mounts_json.parse_mounts(host.get("Mounts")),
        tmpfs={str(k): str(v) for k, v in _dict(host.get("Tmpfs"), "HostConfig.Tmpfs").items()},
        volumes_from=_list(host.get("VolumesFrom"), "HostConfig.VolumesFrom"),
        memory=_int(host.get("Memory"), "HostConfig.Memory"),
        memory_reservation=_int(host.get("MemoryReservation"), "HostConfig.MemoryReservation"),
        memory_swap=_int(host.get("MemorySwap"), "HostConfig.MemorySwap"),
        nano_cpus=_int(host.get("NanoCpus"), "HostConfig.NanoCpus"),
        cpu_shares=_int(host.get("CpuShares"), "HostConfig.CpuShares"),
        cpu_quota=_int(host.get("CpuQuota"), "HostConfig.CpuQuota"),
        cpu_period=_int(host.get("CpuPeriod"), "HostConfig.CpuPeriod"),
        cpuset_cpus=host.get("CpusetCpus") or "",
        cpuset_mems=host.get("CpusetMems") or "",
        pids_limit=host.get("PidsLimit"),
        ulimits=[Ulimit(u.get("Name", ""), _int(u.get("Soft"), "Ulimit.Soft"), _int(u.get("Hard"), "Ulimit.Hard"))
                 for u in host.get("Ulimits") or []],
        cap_add=_list(host.get("CapAdd"), "HostConfig.CapAdd"),
        cap_drop=_list(host.get("CapDrop"), "HostConfig.CapDrop"),
        privileged=bool(host.get("Privileged")),
        readonly_rootfs=bool(host.get("ReadonlyRootfs")),
        security_opt=_list(host.get("SecurityOpt"), "HostConfig.SecurityOpt"),
        init=bool(host.get("Init")),
        auto_remove=bool(host.get("AutoRemove")),
        restart_policy=RestartPolicy(restart.get("Name") or "no", _int(restart.get("MaximumRetryCount"), "MaximumRetryCount")),
        network_mode=host.get("NetworkMode") or "default",
        port_bindings=network_json.parse_port_bindings(host.get("PortBindings")),
        publish_all_ports=bool(host.get("PublishAllPorts")),
        dns=_list(host.get("Dns"), "HostConfig.Dns"),
        dns_search=_list(host.get("DnsSearch"), "HostConfig.DnsSearch"),
        dns_options=_list(host.get("DnsOptions"), "HostConfig.DnsOptions"),
        extra_hosts=_list(host.get("ExtraHosts"), "HostConfig.ExtraHosts"),
        log_type=log_config.get("Type") or "json-file",
        log_opts={str(k): str(v) for k, v in _dict(log_config.get("Config"), "LogConfig.Config").items()},
        console_size=(int(console[0] or 0), int(console[1] or 0)) if isinstance(console, list) and len(console) == 2 else (0, 0),
        shm_size=_int(host.get("ShmSize"), "HostConfig.ShmSize"),
    )
    for ulimit in host_config.ulimits:
        if ulimit.soft > ulimit.hard and ulimit.hard != -1:
            raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: {ulimit.soft} > {ulimit.hard}")
        import resource

        if not hasattr(resource, "RLIMIT_" + ulimit.name.upper()):
            raise InvalidArgument(f"invalid ulimit type: {ulimit.name}")
    return Container(id="", name="", image_id=config.image, config=config, host_config=host_config,
                     networking=network_json.parse_networking(body))


def _health(value: dict) -> Healthcheck:
    value = _dict(value, "Healthcheck")
    return Healthcheck(test=_list(value.get("Test"), "Healthcheck.Test"), interval=_int(value.get("Interval"), "Interval"),
                       timeout=_int(value.get("Timeout"), "Timeout"), start_period=_int(value.get("StartPeriod"), "StartPeriod"),
                       retries=_int(value.get("Retries"), "Retries"))


def _check_signal(value: str) -> None:
    from ..engine.signals import signal_number

    signal_number(value)


def status_text(container: Container) -> str:
    """The STATUS column of `docker ps`: "Up 3 seconds", "Exited (0) 2 minutes ago" …"""
    state = container.state
    now = time.time()
    if state.status == RUNNING or state.status == PAUSED:
        text = "Up " + human_duration(now - state.started_at)
        if state.status == PAUSED:
            text += " (Paused)"
        elif state.health is not None:
            text += {"starting": " (health: starting)", "healthy": " (healthy)", "unhealthy": " (unhealthy)"}[state.health.status]
        return text
    if state.status == RESTARTING:
        return f"Restarting ({state.exit_code}) {human_duration(now - state.finished_at)} ago"
    if state.status == "created":
        return "Created"
    if state.status == "removing":
        return "Removal In Progress"
    if state.status == "dead":
        return "Dead"
    return f"Exited ({state.exit_code}) {human_duration(now - state.finished_at)} ago"


def _health_json(container: Container) -> dict | None:
    health = container.state.health
    if health is None:
        return None
    return {"Status": health.status, "FailingStreak": health.failing_streak,
            "Log": [{"Start": rfc3339(e["Start"]), "End": rfc3339(e["End"]), "ExitCode": e["ExitCode"],
                     "Output": e["Output"]} for e in health.log]}


def container_config_json(container: Container, image_config: dict) -> dict:
    cfg = container.config
    hostname = cfg.hostname or container.id[:12]
    env = merge_env(image_config.get("Env"), cfg.env)
    labels = dict(image_config.get("Labels") or {})
    labels.update(cfg.labels)
    out = {
        "Hostname": hostname, "Domainname": cfg.domainname, "User": cfg.user,
        "AttachStdin": cfg.attach_stdin, "AttachStdout": cfg.attach_stdout, "AttachStderr": cfg.attach_stderr,
        "Tty": cfg.tty, "OpenStdin": cfg.open_stdin, "StdinOnce": cfg.stdin_once,
        "Env": env or None,
        "Cmd": cfg.cmd if cfg.cmd is not None else (None if cfg.entrypoint is not None else image_config.get("Cmd")),
        "Image": cfg.image, "Volumes": cfg.volumes or image_config.get("Volumes"),
        "WorkingDir": cfg.working_dir or image_config.get("WorkingDir") or "",
        "Entrypoint": cfg.entrypoint if cfg.entrypoint is not None else image_config.get("Entrypoint"),
        "OnBuild": None, "Labels": labels,
    }
    if cfg.exposed_ports or image_config.get("ExposedPorts"):
        out["ExposedPorts"] = cfg.exposed_ports or image_config.get("ExposedPorts")
    if cfg.stop_signal:
        out["StopSignal"] = cfg.stop_signal
    if cfg.stop_timeout is not None:
        out["StopTimeout"] = cfg.stop_timeout
    if cfg.healthcheck is not None:
        hc = cfg.healthcheck
        out["Healthcheck"] = {"Test": hc.test, **({"Interval": hc.interval} if hc.interval else {}),
                              **({"Timeout": hc.timeout} if hc.timeout else {}),
                              **({"StartPeriod": hc.start_period} if hc.start_period else {}),
                              **({"Retries": hc.retries} if hc.retries else {})}
    return out


def host_config_json(container: Container) -> dict:
    hc = container.host_config
    return {
        "Binds": hc.binds or None, "ContainerIDFile": "",
        "LogConfig": {"Type": hc.log_type, "Config": hc.log_opts},
        "NetworkMode": hc.network_mode,
        "PortBindings": {k: [{"HostIp": ip, "HostPort": port} for ip, port in v] for k, v in hc.port_bindings.items()},
        "RestartPolicy": {"Name": hc.restart_policy.name, "MaximumRetryCount": hc.restart_policy.maximum_retry_count},
        "AutoRemove": hc.auto_remove, "VolumeDriver": "", "VolumesFrom": hc.volumes_from or None,
        **({"Mounts": mounts_json.mounts_json(hc.mounts)} if hc.mounts else {}),
        **({"Tmpfs": hc.tmpfs} if hc.tmpfs else {}),
        "ConsoleSize": list(hc.console_size), "CapAdd": hc.cap_add or None, "CapDrop": hc.cap_drop or None,
        "CgroupnsMode": "host", "Dns": hc.dns, "DnsOptions": hc.dns_options, "DnsSearch": hc.dns_search,
        "ExtraHosts": hc.extra_hosts or None,
        "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0,
        "PidMode": "", "Privileged": hc.privileged, "PublishAllPorts": hc.publish_all_ports,
        "ReadonlyRootfs": hc.readonly_rootfs, "SecurityOpt": hc.security_opt or None, "UTSMode": "",
        "UsernsMode": "", "ShmSize": hc.shm_size or 67108864, "Runtime": "hako",
        "Isolation": "", "CpuShares": hc.cpu_shares, "Memory": hc.memory, "NanoCpus": hc.nano_cpus,
        "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [],
        "CpuPeriod": hc.cpu_period, "CpuQuota": hc.cpu_quota, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
        "CpusetCpus": hc.cpuset_cpus, "CpusetMems": hc.cpuset_mems, "Devices": [], "DeviceCgroupRules": None,
        "DeviceRequests": None, "MemoryReservation": hc.memory_reservation, "MemorySwap": hc.memory_swap,
        "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": hc.pids_limit,
        "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in hc.ulimits] or None,
        "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
        "MaskedPaths": None if hc.privileged else list(ocispec.MASKED_PATHS),
        "ReadonlyPaths": None if hc.privileged else list(ocispec.READONLY_PATHS),
        "Init": hc.init or None,
    }


def network_settings_json(container: Container, networks=None) -> dict:
    """NetworkSettings; ``networks`` is the network manager's view of the container."""
    if networks is not None:
        return network_json.network_settings_json(container, networks)
    mode = container.host_config.network_mode
    networks = {}
    if mode in ("host", "none"):
        networks[mode] = _endpoint()
    return {
        "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "", "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
        "Networks": networks,
    }


def _endpoint() -> dict:
    return {"IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "NetworkID": "",
            "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None, "DNSNames": None}


def container_json(container: Container, image_config: dict, graph_dirs: dict, size: tuple | None = None,
                   networks=None) -> dict:
    """`GET /containers/{id}/json`, Docker's shape."""
    state = container.state
    status = state.status
    out = {
        "Id": container.id,
        "Created": rfc3339(container.created),
        "Path": container.path,
        "Args": container.args,
        "State": {
            "Status": status, "Running": status in (RUNNING, PAUSED), "Paused": status == PAUSED,
            "Restarting": status == RESTARTING, "OOMKilled": state.oom_killed, "Dead": status == "dead",
            "Pid": state.pid, "ExitCode": state.exit_code, "Error": state.error,
            "StartedAt": rfc3339(state.started_at), "FinishedAt": rfc3339(state.finished_at),
        },
        "Image": container.image_id,
        "ResolvConfPath": container.resolv_conf_path,
        "HostnamePath": container.hostname_path,
        "HostsPath": container.hosts_path,
        "LogPath": container.log_path,
        "Name": "/" + container.name,
        "RestartCount": state.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": host_config_json(container),
        "GraphDriver": {"Data": graph_dirs, "Name": "overlay2"},
        "Mounts": [mounts_json.mount_point_json(p) for p in container.mounts],
        "Config": container_config_json(container, image_config),
        "NetworkSettings": network_settings_json(container, networks),
    }
    health = _health_json(container)
    if health is not None:
        out["State"]["Health"] = health
    if size is not None:
        out["SizeRw"], out["SizeRootFs"] = size
    return out


def summary_command(path: str, args: list[str]) -> str:
    """The COMMAND column as dockerd builds it: arguments holding a space are put in single
    quotes (`sh -c 'exit 2'`), nothing else is escaped."""
    if not args:
        return path
    return path + " " + " ".join(f"'{a}'" if " " in a else a for a in args)


def container_summary(container: Container, image_name: str, size: tuple | None = None, networks=None) -> dict:
    """An entry of `GET /containers/json`."""
    out = {
        "Id": container.id, "Names": ["/" + container.name], "Image": image_name,
        "ImageID": container.image_id, "Command": summary_command(container.path, container.args),
        "Created": int(container.created),
        "Ports": network_json.summary_ports(container, networks) if networks is not None else [],
        "Labels": container.config.labels,
        "State": container.state.status, "Status": status_text(container),
        "HostConfig": {"NetworkMode": container.host_config.network_mode},
        "NetworkSettings": {"Networks": network_settings_json(container, networks)["Networks"]},
        "Mounts": [mounts_json.mount_point_json(p) for p in container.mounts],
    }
    if size is not None:
        out["SizeRw"], out["SizeRootFs"] = size
    return out


def parse_exec(body: dict) -> ExecConfig:
    if not isinstance(body, dict):
        raise InvalidArgument("exec config must be a JSON object")
    cmd = _list(body.get("Cmd"), "ExecConfig.Cmd")
    if not cmd:
        raise InvalidArgument("No exec command specified")
    console = body.get("ConsoleSize") or [0, 0]
    return ExecConfig(id="", container_id="", cmd=cmd, env=_list(body.get("Env"), "ExecConfig.Env"),
                      user=body.get("User") or "", working_dir=body.get("WorkingDir") or "",
                      tty=bool(body.get("Tty")), privileged=bool(body.get("Privileged")),
                      attach_stdin=bool(body.get("AttachStdin")), attach_stdout=bool(body.get("AttachStdout")),
                      attach_stderr=bool(body.get("AttachStderr")), detach_keys=body.get("DetachKeys") or "",
                      console_size=(int(console[0] or 0), int(console[1] or 0)) if isinstance(console, list) and len(console) == 2 else (0, 0))


def exec_json(config: ExecConfig) -> dict:
    return {
        "ID": config.id, "Running": config.running, "ExitCode": config.exit_code,
        "ProcessConfig": {"tty": config.tty, "entrypoint": config.cmd[0], "arguments": config.cmd[1:],
                          "privileged": config.privileged, "user": config.user},
        "OpenStdin": config.attach_stdin, "OpenStderr": config.attach_stderr, "OpenStdout": config.attach_stdout,
        "CanRemove": False, "ContainerID": config.container_id, "DetachKeys": config.detach_keys, "Pid": config.pid,
    }


def image_json(image, layers_diff_ids: list[str], graph: dict) -> dict:
    config = image.config
    run = config.get("config") or {}
    return {
        "Id": image.id, "RepoTags": list(image.repo_tags), "RepoDigests": list(image.repo_digests), "Parent": "",
        "Comment": (config.get("history") or [{}])[-1].get("comment", ""),
        "Created": config.get("created", ""), "DockerVersion": config.get("docker_version", ""), "Author": config.get("author", ""),
        "Config": _image_run_config(run), "Architecture": config.get("architecture", ""),
        "Os": config.get("os", "linux"), "Size": image.size, "VirtualSize": image.size,
        "GraphDriver": {"Data": graph, "Name": "overlay2"},
        "RootFS": {"Type": "layers", "Layers": layers_diff_ids},
        "Metadata": {"LastTagTime": ZERO_TIME},
    }


def _image_run_config(run: dict) -> dict:
    keys = ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
            "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint",
            "OnBuild", "Labels")
    defaults = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
                "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
                "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
                "OnBuild": None, "Labels": None}
    out = {k: run.get(k, defaults[k]) for k in keys}
    for extra in ("ExposedPorts", "StopSignal", "Healthcheck", "Shell"):
        if extra in run:
            out[extra] = run[extra]
    return out


def unix_seconds(created) -> int:
    """An image config's RFC 3339 `created` (nanoseconds and all) as the Unix seconds the API's
    lists carry; 0 when absent or unreadable."""
    if isinstance(created, (int, float)):
        return int(created)
    if not created:
        return 0
    text = created.replace("Z", "+00:00")
    # fromisoformat takes at most microseconds: cut Go's nanoseconds down to six digits.
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[:min(digits, 6)].ljust(6, "0") + rest[digits:]
    try:
        return int(datetime.datetime.fromisoformat(text).timestamp())
    except ValueError:
        return 0


def history_entry(entry: dict) -> dict:
    """An entry of `GET /images/{name}/history`: `Created` is an integer there (the CLI's Go
    struct refuses a string)."""
    return {**entry, "Created": unix_seconds(entry.get("Created"))}


def image_summary(image) -> dict:
    return {"Id": image.id, "ParentId": "", "RepoTags": list(image.repo_tags),
            "RepoDigests": list(image.repo_digests), "Created": unix_seconds(image.created), "Size": image.size, "SharedSize": -1, "VirtualSize": image.size,
            "Labels": (image.run_config.get("Labels") or None), "Containers": -1}

