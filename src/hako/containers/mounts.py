"""A container's mounts: from -v (Binds), --mount (Mounts), --volumes-from and the image's VOLUMEs
to the list of mount points the container keeps, with Docker's rules and messages.

    points = plan(container, image_volumes, find_container)   # pure: validates, names nothing new
    make_volumes(points, volumes)                              # named volumes made, anonymous ones named

Docker's precedence (daemon/volumes.go registerMountPoints): the mounts of --volumes-from
containers first, then -v, then --mount, each replacing an earlier one at the same destination
(but -v and --mount at the same destination is "Duplicate mount point"); the image's VOLUMEs
(and `-v /path`, which the CLI sends the same way) become anonymous volumes where nothing else is
mounted. HostConfig.Tmpfs mounts are not mount points (Docker keeps them out of inspect's Mounts);
`tmpfs_mounts` turns them into OCI mounts.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

from ..errdefs import InvalidArgument
from .model import Container, MountPoint, MountRequest

PROPAGATIONS = ("shared", "slave", "private", "rshared", "rslave", "rprivate")
_IGNORED_MODES = ("z", "Z", "consistent", "cached", "delegated")
TMPFS_DEFAULTS = ["nosuid", "nodev", "noexec"]


@dataclasses.dataclass
class Bind:
    """A parsed -v spec."""
    source: str                # a host path (bind) or a volume name (volume)
    destination: str
    readonly: bool
    propagation: str           # "" unless given
    nocopy: bool
    mode: str                  # the options as given

    @property
    def is_volume(self) -> bool:
        return not self.source.startswith("/")


def parse_bind(spec: str) -> Bind:
    """Docker's `src:dst[:opts]` (linux parser)."""
    parts = spec.split(":")
    if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
        raise InvalidArgument(f"invalid volume specification: '{spec}'")
    source, dest = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    kind = "volume" if not source.startswith("/") else "bind"
    if not dest.startswith("/"):
        raise InvalidArgument(f"invalid volume specification: '{spec}': invalid mount config for type \"{kind}\": "
                              f"invalid mount path: '{dest}' mount path must be absolute")
    if os.path.normpath(dest) == "/":
        raise InvalidArgument(f"invalid volume specification: '{spec}': invalid mount config for type \"{kind}\": "
                              "invalid specification: destination can't be '/'")
    readonly, propagation, nocopy = False, "", False
    seen_rw = seen_prop = False
    for option in filter(None, mode.split(",")):
        if option in ("ro", "rw") and not seen_rw:
            readonly, seen_rw = option == "ro", True
        elif option in PROPAGATIONS and not seen_prop and kind == "bind":
            propagation, seen_prop = option, True
        elif option == "nocopy" and kind == "volume" and not nocopy:
            nocopy = True
        elif option in _IGNORED_MODES:
            continue
        else:
            raise InvalidArgument(f"invalid mode: {mode}")
    if kind == "volume":
        from ..volumes import check_name

        check_name(source)
    else:
        source = os.path.normpath(source)
    return Bind(source, os.path.normpath(dest), readonly, propagation, nocopy, mode)


def bind_points(specs: list[str]) -> list[MountPoint]:
    """Mount points of host-path -v specs (records written before mount points were kept)."""
    points = []
    for spec in specs:
        b = parse_bind(spec)
        if not b.is_volume:
            points.append(MountPoint("bind", b.destination, source=b.source, mode=b.mode, rw=not b.readonly,
                                     propagation=b.propagation or "rprivate"))
    return points


def check_mount_request(m: MountRequest, has_bind_options: bool = False, has_volume_options: bool = False,
                        has_tmpfs_options: bool = False) -> None:
    """Docker's validateMountConfig for one --mount, with its messages."""
    def fail(message: str) -> InvalidArgument:
        return InvalidArgument(f'invalid mount config for type "{m.type}": {message}')

    if m.type not in ("bind", "volume", "tmpfs"):
        raise fail("mount type unknown")
    if not m.target:
        raise fail("field Target must not be empty")
    if not m.target.startswith("/"):
        raise fail(f"invalid mount path: '{m.target}' mount path must be absolute")
    if os.path.normpath(m.target) == "/":
        raise fail("invalid specification: destination can't be '/'")
    if m.type == "bind":
        if has_volume_options:
            raise fail("field VolumeOptions must not be specified")
        if has_tmpfs_options:
            raise fail("field TmpfsOptions must not be specified")
        if not m.source:
            raise fail("field Source must not be empty")
        if not m.source.startswith("/"):
            raise fail(f"invalid mount path: '{m.source}' mount path must be absolute")
        if not os.path.exists(m.source):
            raise fail(f"bind source path does not exist: {m.source}")
        if m.propagation and m.propagation not in PROPAGATIONS:
            raise fail(f"invalid propagation mode: {m.propagation}")
    elif m.type == "volume":
        if has_bind_options:
            raise fail("field BindOptions must not be specified")
        if has_tmpfs_options:
            raise fail("field TmpfsOptions must not be specified")
        if m.source:
            from ..volumes import check_name

            check_name(m.source)
        if m.driver and m.driver != "local":
            raise InvalidArgument(f'error looking up volume plugin {m.driver}: plugin "{m.driver}" not found')
    else:
        if has_bind_options:
            raise fail("field BindOptions must not be specified")
        if has_volume_options:
            raise fail("field VolumeOptions must not be specified")
        if m.source:
            raise fail("field Source must not be specified")
        if m.tmpfs_size < 0:
            raise fail("invalid tmpfs size")


def plan(container: Container, image_volumes: dict | None, find_container: Callable[[str], Container]) -> list[MountPoint]:
    """Every mount point of a new container, validated; volumes are named but not made yet
    (an anonymous one has name "")."""
    hc = container.host_config
    points: dict[str, MountPoint] = {}
    for ref in hc.volumes_from:
        name, _, mode = ref.partition(":")
        if mode not in ("", "ro", "rw"):
            raise InvalidArgument(f"invalid mode: {mode}")
        other = find_container(name)
        for m in other.mounts:
            copied = dataclasses.replace(m, anonymous=False, copy_data=False)
            if mode:
                copied.rw = mode == "rw"
            points[m.destination] = copied
    explicit: set[str] = set()
    for spec in hc.binds:
        b = parse_bind(spec)
        if b.destination in explicit:
            raise InvalidArgument(f"Duplicate mount point: {b.destination}")
        explicit.add(b.destination)
        if b.is_volume:
            points[b.destination] = MountPoint("volume", b.destination, name=b.source, driver="local",
                                               mode=b.mode or "z", rw=not b.readonly, copy_data=not b.nocopy)
        else:
            points[b.destination] = MountPoint("bind", b.destination, source=b.source, mode=b.mode,
                                               rw=not b.readonly, propagation=b.propagation or "rprivate")
    for m in hc.mounts:
        target = os.path.normpath(m.target)
        if target in explicit:
            raise InvalidArgument(f"Duplicate mount point: {target}")
        explicit.add(target)
        if m.type == "bind":
            points[target] = MountPoint("bind", target, source=os.path.normpath(m.source), rw=not m.readonly,
                                        propagation=m.propagation or "rprivate")
        elif m.type == "volume":
            points[target] = MountPoint("volume", target, name=m.source, driver="local", rw=not m.readonly,
                                        copy_data=not m.nocopy, anonymous=not m.source)
        else:
            options = list(TMPFS_DEFAULTS)
            if m.tmpfs_size:
                options.append(f"size={m.tmpfs_size}")
            if m.tmpfs_mode:
                options.append(f"mode={m.tmpfs_mode:o}")
            points[target] = MountPoint("tmpfs", target, rw=not m.readonly, tmpfs_options=options)
    tmpfs = {os.path.normpath(p) for p in hc.tmpfs}
    for dest in tmpfs:
        if dest in explicit:
            raise InvalidArgument(f"Duplicate mount point: {dest}")
        points.pop(dest, None)
    for dest in list(container.config.volumes) + list(image_volumes or {}):
        if not dest.startswith("/"):
            raise InvalidArgument(f"invalid volume specification: '{dest}': invalid mount config for type "
                                  f"\"volume\": invalid mount path: '{dest}' mount path must be absolute")
        dest = os.path.normpath(dest)
        if dest in points or dest in tmpfs:
            continue
        points[dest] = MountPoint("volume", dest, driver="local", copy_data=True, anonymous=True)
    return sorted(points.values(), key=lambda p: p.destination.count("/"))


def make_volumes(points: list[MountPoint], volumes, requests: list[MountRequest]) -> list[str]:
    """Create what ``points`` need: named volumes that do not exist yet (with the --mount's
    labels and driver options), and a fresh anonymous volume each; sets names and sources.
    Returns the names of the volumes made, so a failed create can remove them again."""
    by_target = {os.path.normpath(r.target): r for r in requests if r.type == "volume"}
    made: list[str] = []
    try:
        for p in points:
            if p.type != "volume":
                continue
            request = by_target.get(p.destination)
            existed = bool(p.name) and p.name in volumes.volumes
            volume = volumes.create(p.name or None,
                                    labels=request.labels if request else None,
                                    options=request.driver_options if request else None,
                                    anonymous=not p.name)
            if not existed:
                made.append(volume.name)
            p.name, p.source, p.driver = volume.name, volume.mountpoint, volume.driver
            p.anonymous = volume.anonymous and p.anonymous
    except BaseException:
        for name in made:
            try:
                volumes.remove(name, force=True)
            except Exception:  # noqa: BLE001 - best effort; the create failed anyway
                pass
        raise
    return made


def tmpfs_options(options: str) -> list[str]:
    """The OCI options of an --tmpfs (HostConfig.Tmpfs) entry: Docker's defaults
    (nosuid, nodev, noexec) unless the user's options say otherwise."""
    result = list(TMPFS_DEFAULTS)
    opposite = {"exec": "noexec", "suid": "nosuid", "dev": "nodev"}
    for word in filter(None, options.split(",")):
        if word in opposite:
            if opposite[word] in result:
                result.remove(opposite[word])
            continue
        if word in TMPFS_DEFAULTS:
            continue
        key, _, value = word.partition("=")
        if key == "size" and value:
            word = f"size={_tmpfs_size(value)}"
        elif key not in ("ro", "rw", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "noatime", "relatime",
                         "strictatime", "nodiratime", "huge", "mpol", "sync", "async"):
            raise InvalidArgument(f"invalid tmpfs option [\"{word}\"]")
        result.append(word)
    return result


def _tmpfs_size(value: str) -> str:
    """tmpfs takes k, m, g suffixes itself; Docker's CLI also allows b and upper case."""
    v = value.lower()
    if v.endswith("b"):
        v = v[:-1]
    if not v or not (v.isdigit() or (v[:-1].isdigit() and v[-1] in "kmgtpe")):
        raise InvalidArgument(f"invalid tmpfs option [\"size={value}\"]")
    return v


def oci_mounts(points: list[MountPoint], tmpfs: dict[str, str]) -> list[dict]:
    """The OCI mounts of the mount points (volumes with their sources set) and the --tmpfs."""
    out = []
    for p in points:
        if p.type == "tmpfs":
            options = p.tmpfs_options + (["ro"] if not p.rw else [])
            out.append({"destination": p.destination, "type": "tmpfs", "source": "tmpfs", "options": options})
            continue
        options = ["rbind", p.propagation or "rprivate"] + (["ro"] if not p.rw else [])
        out.append({"destination": p.destination, "type": "bind", "source": p.source, "options": options})
    for dest, options in sorted(tmpfs.items()):
        out.append({"destination": os.path.normpath(dest), "type": "tmpfs", "source": "tmpfs",
                    "options": tmpfs_options(options)})
    return out


def rootfs_propagation(points: list[MountPoint]) -> str | None:
    """Docker's rule: a shared bind needs the container's root shared, a slave one rslave."""
    wanted = {p.propagation for p in points if p.type == "bind"}
    if wanted & {"shared", "rshared"}:
        return "shared"
    if wanted & {"slave", "rslave"}:
        return "rslave"
    return None


def check_propagation(points: list[MountPoint], mountinfo_text: str) -> None:
    """A shared (or slave) bind needs its source on a shared (or shared/slave) mount of the
    host, or the propagation asked for cannot happen; Docker's messages."""
    table = []
    for line in mountinfo_text.splitlines():
        fields = line.split()
        if "-" in fields[6:]:
            sep = fields.index("-", 6)
            table.append((_unescape(fields[4]), fields[6:sep]))
    for p in points:
        if p.type != "bind" or p.propagation not in ("shared", "rshared", "slave", "rslave"):
            continue
        path = os.path.realpath(p.source)
        best, optional = "/", []
        for point, fields in table:
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, optional = point, fields
        shared = any(f.startswith("shared:") for f in optional)
        slave = any(f.startswith("master:") for f in optional)
        if p.propagation in ("shared", "rshared") and not shared:
            raise InvalidArgument(f"path {p.source} is mounted on {best} but it is not a shared mount")
        if not (shared or slave):
            raise InvalidArgument(f"path {p.source} is mounted on {best} but it is not a shared or slave mount")


def _unescape(field: str) -> str:
    from ..linux.mountinfo import unescape

    return unescape(field)
