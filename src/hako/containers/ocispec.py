"""From an image config and a container's options to the OCI runtime config that hako-runtime runs.

This is where Docker's defaults live: its capability set, seccomp profile, masked and read-only
/proc paths, the standard mounts, and the translation of HostConfig limits into cgroup resources.
`check_host_config` validates limits at create time, with Docker's messages, so an impossible
container is refused before anything is made.
"""

from __future__ import annotations

import json
import os
import socket
import stat

from ..errdefs import InvalidArgument, Unsupported
from ..runtime import securejoin
from ..runtime.state import OCI_VERSION
from . import mounts as container_mounts
from . import seccomp_profile
from .model import Container

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DOCKER_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
INIT_BINARY = "/usr/bin/tini-static"   # Debian's tini, Docker's docker-init
INIT_PATH = "/sbin/docker-init"
MIN_MEMORY = 6 * 1024 * 1024
CPU_PERIOD = 100_000
MIN_CPU_SHARES, MAX_CPU_SHARES = 2, 262144
PROPAGATIONS = ("shared", "slave", "private", "rshared", "rslave", "rprivate")


def all_capabilities() -> list[str]:
    """Every capability hakod itself holds: what `--privileged` and `--cap-add ALL` grant.

    Like Docker (containerd's cap.Current()), this is the daemon's effective set, not every
    capability the kernel knows: a host whose root lacks some (a sandbox that dropped
    CAP_SYS_RESOURCE from its bounding set) cannot hand them on, and asking for them makes
    capset(2) fail with EPERM."""
    from ..linux.capabilities import NUMBERS, supported

    effective = _effective_capabilities()
    return [name for name in supported() if effective is None or effective & (1 << NUMBERS[name])]


def _effective_capabilities() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return None


def capability_set(cap_add: list[str], cap_drop: list[str], privileged: bool) -> list[str]:
    """Docker's rules: start from its defaults; ALL in add or drop means every capability."""
    from ..linux.capabilities import supported

    everything = all_capabilities()
    if privileged:
        return everything
    known = supported()

    def canon(name: str, field: str) -> str:
        upper = name.upper()
        if upper == "ALL":
            return "ALL"
        full = upper if upper.startswith("CAP_") else "CAP_" + upper
        if full not in known:
            raise InvalidArgument(f"invalid {field}: unknown capability: \"{full}\"")
        return full

    add = [canon(c, "CapAdd") for c in cap_add]
    drop = [canon(c, "CapDrop") for c in cap_drop]
    caps = list(everything) if "ALL" in add else list(DOCKER_CAPABILITIES)
    if "ALL" in drop:
        caps = [c for c in add if c != "ALL"] if "ALL" not in add else caps
        return caps
    caps = [c for c in caps if c not in drop]
    for cap in add:
        if cap != "ALL" and cap not in caps:
            caps.append(cap)
    return caps


def check_host_config(container: Container) -> list[str]:
    """Refuse impossible limits with Docker's messages; return Docker's warnings."""
    hc = container.host_config
    warnings: list[str] = []
    if hc.memory and hc.memory < MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if hc.memory_reservation and hc.memory_reservation < MIN_MEMORY:
        raise InvalidArgument("Minimum memory reservation allowed is 6MB")
    if hc.memory and hc.memory_reservation and hc.memory < hc.memory_reservation:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage")
    if hc.memory_swap > 0 and not hc.memory:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
    if hc.memory_swap > 0 and hc.memory_swap < hc.memory:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
    if hc.nano_cpus and (hc.cpu_quota or hc.cpu_period):
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set" if hc.cpu_period
                              else "Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    ncpu = os.cpu_count() or 1
    if hc.nano_cpus < 0 or hc.nano_cpus > ncpu * 1_000_000_000:
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
    if hc.cpu_period and not 1000 <= hc.cpu_period <= 1_000_000:
        raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if hc.cpu_quota and 0 < hc.cpu_quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if hc.cpu_shares < 0:
        raise InvalidArgument("invalid CPU shares")
    # As dockerd (daemon_unix.go): shares out of the kernel's range are moved into it, with a warning.
    if 0 < hc.cpu_shares < MIN_CPU_SHARES:
        warnings.append(f"Your kernel does not support CPU shares below {MIN_CPU_SHARES}. "
                        f"Changing requested CPUShares of {hc.cpu_shares} to minimum allowed of {MIN_CPU_SHARES}")
        hc.cpu_shares = MIN_CPU_SHARES
    elif hc.cpu_shares > MAX_CPU_SHARES:
        warnings.append(f"Your kernel does not support CPU shares above {MAX_CPU_SHARES}. "
                        f"Changing requested CPUShares of {hc.cpu_shares} to maximum allowed of {MAX_CPU_SHARES}")
        hc.cpu_shares = MAX_CPU_SHARES
    if hc.cpuset_cpus:
        _check_cpuset(hc.cpuset_cpus, ncpu)
    capability_set(hc.cap_add, hc.cap_drop, hc.privileged)
    for opt in hc.security_opt:
        _security_opt(opt)
    for bind in hc.binds:
        container_mounts.parse_bind(bind)
    for options in hc.tmpfs.values():
        container_mounts.tmpfs_options(options)
    mode = hc.network_mode or "default"
    if mode == "host" and (hc.port_bindings or hc.publish_all_ports):
        warnings.append("Published ports are discarded when using host network mode")
        hc.port_bindings, hc.publish_all_ports = {}, False
    if hc.restart_policy.name not in ("no", "", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid restart policy '{hc.restart_policy.name}'")
    if hc.restart_policy.maximum_retry_count < 0:
        raise InvalidArgument("maximum retry count cannot be negative")
    if hc.restart_policy.maximum_retry_count and hc.restart_policy.name != "on-failure":
        raise InvalidArgument(f"maximum retry count cannot be used with restart policy '{hc.restart_policy.name}'")
    if hc.auto_remove and hc.restart_policy.name not in ("no", ""):
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    if hc.log_type not in ("json-file", "", "none"):
        raise Unsupported(f"log driver {hc.log_type!r} is not supported: use json-file or none")
    return warnings


def _check_cpuset(value: str, ncpu: int) -> None:
    try:
        for part in value.split(","):
            lo, _, hi = part.partition("-")
            for cpu in (int(lo), int(hi or lo)):
                if cpu >= ncpu or cpu < 0:
                    raise InvalidArgument(f"Requested CPUs are not available - requested {value}, available: 0-{ncpu - 1}")
    except ValueError:
        raise InvalidArgument(f"Invalid value {value} for cpuset cpus") from None


def _security_opt(opt: str) -> tuple[str, str]:
    key, sep, value = opt.partition("=")
    if not sep:
        key, sep, value = opt.partition(":")
    if key == "no-new-privileges":
        if value not in ("", "true", "false"):
            raise InvalidArgument(f"invalid --security-opt 2: {opt!r}")
        return key, value or "true"
    if key == "seccomp":
        return key, value
    if key == "apparmor" or (key == "label" and value == "disable"):
        return key, value   # no AppArmor or SELinux on hako's hosts: accepted, nothing to apply
    raise InvalidArgument(f"invalid --security-opt: {opt!r} is not supported")


def resolve_user(rootfs: str, user: str) -> tuple[int, int, list[int]]:
    """uid, gid and additional groups for Docker's `user[:group]` against the image's files."""
    name, _, group = (user or "0").partition(":")
    passwd = _read_db(rootfs, "/etc/passwd")
    groups = _read_db(rootfs, "/etc/group")
    uid = gid = None
    username = None
    if name.isdigit():
        uid = int(name)
        for entry in passwd:
            if len(entry) > 3 and entry[2] == name:
                username, gid = entry[0], int(entry[3])
                break
    else:
        for entry in passwd:
            if entry[0] == name and len(entry) > 3:
                username, uid, gid = name, int(entry[2]), int(entry[3])
                break
        if uid is None:
            raise InvalidArgument(f"unable to find user {name}: no matching entries in passwd file")
    if gid is None:
        gid = 0 if uid == 0 else uid
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = [e for e in groups if e[0] == group and len(e) > 2]
            if not found:
                raise InvalidArgument(f"unable to find group {group}: no matching entries in group file")
            gid = int(found[0][2])
    extra = []
    if username and not group:
        for entry in groups:
            if len(entry) > 3 and username in entry[3].split(",") and entry[2].isdigit() and int(entry[2]) != gid:
                extra.append(int(entry[2]))
    if uid > 0xFFFFFFFE or gid > 0xFFFFFFFE:
        raise InvalidArgument(f"invalid user {user!r}: ids must be below 2^32-1")
    return uid, gid, extra


def home_dir(rootfs: str, uid: int) -> str:
    """The home directory of ``uid`` in the image's /etc/passwd, "/" without an entry: the HOME
    runc gives a process whose environment has none (libcontainer's setupUser)."""
    for entry in _read_db(rootfs, "/etc/passwd"):
        if len(entry) > 5 and entry[2] == str(uid) and entry[5]:
            return entry[5]
    return "/"


def with_home(env: list[str], home: str) -> list[str]:
    """``env`` with HOME=``home`` added, unless it sets HOME already."""
    if any(item.startswith("HOME=") for item in env):
        return env
    return env + [f"HOME={home}"]


def _read_db(rootfs: str, path: str) -> list[list[str]]:
    try:
        real = securejoin.secure_join(rootfs, path)
        with open(real, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip() and not line.startswith("#")]
    except OSError:
        return []


def merged_env(image_env: list[str] | None, env: list[str], tty: bool, hostname: str) -> list[str]:
    result: dict[str, str] = {}
    for item in (image_env or []) + env:
        key, sep, value = item.partition("=")
        if not sep:
            continue      # `-e NAME` without a value: the client resolves it, or it is unset
        result[key] = value
    if "PATH" not in result:
        result["PATH"] = DEFAULT_PATH.split("=", 1)[1]
    env_list = [f"PATH={result.pop('PATH')}", f"HOSTNAME={hostname}"]
    if tty and "TERM" not in result:
        env_list.append("TERM=xterm")
    env_list += [f"{k}={v}" for k, v in result.items() if k != "HOSTNAME"]
    return env_list


def command(container: Container, image_config: dict) -> list[str]:
    """Entrypoint + Cmd as Docker combines them; an entrypoint given at create drops the image's Cmd."""
    cfg = container.config
    entrypoint = cfg.entrypoint if cfg.entrypoint is not None else (image_config.get("Entrypoint") or [])
    if cfg.cmd is not None:
        cmd = cfg.cmd
    elif cfg.entrypoint is not None:
        cmd = []
    else:
        cmd = image_config.get("Cmd") or []
    return list(entrypoint or []) + list(cmd or [])


def hostname_for(container: Container) -> str:
    if container.host_config.network_mode == "host":
        return socket.gethostname()
    return container.config.hostname or container.id[:12]


def build_spec(container: Container, image_config: dict, rootfs: str, cgroup_parent: str,
               netns_path: str | None = None, files: dict[str, str] | None = None) -> dict:
    """The OCI config for ``container`` whose root filesystem is mounted at ``rootfs``.

    ``files`` maps /etc/hosts, /etc/hostname and /etc/resolv.conf to the host files to bind over
    them; ``netns_path`` is the network namespace to join (the container's own, made by hakod's
    network manager, or another container's in container:<id> mode)."""
    cfg, hc = container.config, container.host_config
    args = command(container, image_config)
    if not args:
        raise InvalidArgument("No command specified")
    hostname = hostname_for(container)
    uid, gid, extra_gids = resolve_user(rootfs, cfg.user or image_config.get("User") or "")
    cwd = cfg.working_dir or image_config.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise InvalidArgument(f"the working directory '{cwd}' is invalid, it needs to be an absolute path")
    _make_workdir(rootfs, cwd, uid, gid)
    caps = capability_set(hc.cap_add, hc.cap_drop, hc.privileged)
    if hc.init:
        args = [INIT_PATH, "--"] + args
    process = {
        "terminal": cfg.tty,
        "user": {"uid": uid, "gid": gid, **({"additionalGids": extra_gids} if extra_gids else {})},
        "args": args,
        "env": with_home(merged_env(image_config.get("Env"), cfg.env, cfg.tty, hostname), home_dir(rootfs, uid)),
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": _rlimits(container),
        "noNewPrivileges": False,
    }
    if cfg.tty and hc.console_size != (0, 0):
        process["consoleSize"] = {"height": hc.console_size[0], "width": hc.console_size[1]}
    linux: dict = {
        "cgroupsPath": f"{cgroup_parent}/{container.id}",
        "resources": _resources(container),
        "namespaces": _namespaces(hc.network_mode, netns_path),
    }
    seccomp_json: str | None = None
    for opt in hc.security_opt:
        key, value = _security_opt(opt)
        if key == "no-new-privileges":
            process["noNewPrivileges"] = value == "true"
        elif key == "seccomp":
            seccomp_json = value
    if not hc.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
        if seccomp_json != "unconfined":
            try:
                profile = json.loads(seccomp_json) if seccomp_json else seccomp_profile.default_profile()
            except json.JSONDecodeError as exc:
                raise InvalidArgument(f"Decoding seccomp profile failed: {exc}") from None
            seccomp = seccomp_profile.to_oci(profile, caps)
            if seccomp:
                linux["seccomp"] = seccomp
    else:
        linux["devices"] = _host_devices()
        linux["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
    spec = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": rootfs, "readonly": hc.readonly_rootfs},
        "hostname": hostname,
        "mounts": _mounts(container, files or {}),
        "linux": linux,
    }
    if cfg.domainname:
        spec["domainname"] = cfg.domainname
    propagation = container_mounts.rootfs_propagation(container.mounts)
    if propagation:
        linux["rootfsPropagation"] = propagation
    return spec


def _make_workdir(rootfs: str, cwd: str, uid: int, gid: int) -> None:
    target = securejoin.secure_join(rootfs, cwd)
    if not os.path.isdir(target):
        os.makedirs(target, mode=0o755, exist_ok=True)
        os.chown(target, uid, gid)


def _rlimits(container: Container) -> list[dict]:
    # Docker's containers inherit containerd's open-files limit (1048576 where it can); ours inherit
    # hakod's hard limit, as far as the kernel lets a process without CAP_SYS_RESOURCE raise it.
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = 1048576 if hard == resource.RLIM_INFINITY else min(hard, 1048576)
    limits = {"RLIMIT_NOFILE": {"type": "RLIMIT_NOFILE", "soft": nofile, "hard": nofile}}
    for ulimit in container.host_config.ulimits:
        name = "RLIMIT_" + ulimit.name.upper()
        limits[name] = {"type": name, "soft": ulimit.soft, "hard": ulimit.hard}
    return list(limits.values())


def _resources(container: Container) -> dict:
    hc = container.host_config
    resources: dict = {}
    memory: dict = {}
    if hc.memory:
        memory["limit"] = hc.memory
        if hc.memory_swap == 0:
            memory["swap"] = hc.memory * 2          # Docker's default: as much swap as memory
        elif hc.memory_swap > 0:
            memory["swap"] = hc.memory_swap
        else:
            memory["swap"] = -1
    if hc.memory_reservation:
        memory["reservation"] = hc.memory_reservation
    if memory:
        resources["memory"] = memory
    cpu: dict = {}
    if hc.nano_cpus:
        cpu["period"] = CPU_PERIOD
        cpu["quota"] = hc.nano_cpus * CPU_PERIOD // 1_000_000_000
    if hc.cpu_quota:
        cpu["quota"] = hc.cpu_quota
    if hc.cpu_period:
        cpu["period"] = hc.cpu_period
    if hc.cpu_shares:
        cpu["shares"] = hc.cpu_shares
    if hc.cpuset_cpus:
        cpu["cpus"] = hc.cpuset_cpus
    if hc.cpuset_mems:
        cpu["mems"] = hc.cpuset_mems
    if cpu:
        resources["cpu"] = cpu
    if hc.pids_limit and hc.pids_limit > 0:
        resources["pids"] = {"limit": hc.pids_limit}
    resources["devices"] = [{"allow": False, "access": "rwm"}]
    return resources


def _namespaces(network_mode: str, netns_path: str | None) -> list[dict]:
    namespaces = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    if netns_path:
        # the container's own namespace kept by hakod's network manager, or another container's
        namespaces.append({"type": "network", "path": netns_path})
    elif network_mode != "host":
        namespaces.append({"type": "network"})
    return namespaces


def _mounts(container: Container, files: dict[str, str]) -> list[dict]:
    hc = container.host_config
    shm_size = hc.shm_size or 64 * 1024 * 1024
    sys_options = ["nosuid", "noexec", "nodev"] + ([] if hc.privileged else ["ro"])
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_options},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"]},
    ]
    for dest in ("/etc/resolv.conf", "/etc/hostname", "/etc/hosts"):
        if dest in files:
            mounts.append({"destination": dest, "type": "bind", "source": files[dest],
                           "options": ["rbind", "rprivate"]})
    # Binds, volumes (their sources set when the engine acquired them), --mount and --tmpfs.
    mounts.extend(container_mounts.oci_mounts(container.mounts, hc.tmpfs))
    if hc.init:
        mounts.append({"destination": INIT_PATH, "type": "bind", "source": INIT_BINARY, "options": ["bind", "ro"]})
    return mounts


def _host_devices() -> list[dict]:
    """--privileged: every character and block device of the host's /dev, as Docker gives."""
    devices = []
    for entry in sorted(os.listdir("/dev")):
        path = os.path.join("/dev", entry)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) or entry in ("console", "tty", "ptmx"):
            continue
        devices.append({"path": path, "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                        "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                        "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})
    return devices
