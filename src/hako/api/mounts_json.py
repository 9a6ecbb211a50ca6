"""Docker's JSON for mounts: HostConfig.Mounts in, inspect's Mounts out."""

from __future__ import annotations

from ..containers.model import MountPoint, MountRequest
from ..containers.mounts import check_mount_request
from ..errdefs import InvalidArgument


def parse_mounts(value) -> list[MountRequest]:
    """HostConfig.Mounts (`--mount`): each entry validated with Docker's messages."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgument("json: cannot unmarshal into Go struct field HostConfig.Mounts of type []mount.Mount")
    return [_parse_mount(m) for m in value]


def _parse_mount(m) -> MountRequest:
    if not isinstance(m, dict):
        raise InvalidArgument("json: cannot unmarshal into Go struct field HostConfig.Mounts of type mount.Mount")
    bind = m.get("BindOptions") or None
    volume = m.get("VolumeOptions") or None
    tmpfs = m.get("TmpfsOptions") or None
    driver_config = (volume or {}).get("DriverConfig") or {}
    request = MountRequest(
        type=str(m.get("Type") or ""), target=str(m.get("Target") or ""), source=str(m.get("Source") or ""),
        readonly=bool(m.get("ReadOnly")),
        propagation=str((bind or {}).get("Propagation") or ""),
        nocopy=bool((volume or {}).get("NoCopy")),
        labels={str(k): str(v) for k, v in ((volume or {}).get("Labels") or {}).items()},
        driver=str(driver_config.get("Name") or ""),
        driver_options={str(k): str(v) for k, v in (driver_config.get("Options") or {}).items()},
        tmpfs_size=int((tmpfs or {}).get("SizeBytes") or 0),
        tmpfs_mode=int((tmpfs or {}).get("Mode") or 0),
    )
    check_mount_request(request, bind is not None, volume is not None, tmpfs is not None)
    return request


def mounts_json(requests: list[MountRequest]) -> list[dict] | None:
    """HostConfig.Mounts as inspect shows it: what was asked."""
    out = []
    for r in requests:
        entry: dict = {"Type": r.type, "Source": r.source, "Target": r.target}
        if r.readonly:
            entry["ReadOnly"] = True
        if r.type == "bind" and r.propagation:
            entry["BindOptions"] = {"Propagation": r.propagation}
        if r.type == "volume" and (r.nocopy or r.labels or r.driver or r.driver_options):
            options: dict = {}
            if r.nocopy:
                options["NoCopy"] = True
            if r.labels:
                options["Labels"] = r.labels
            if r.driver or r.driver_options:
                options["DriverConfig"] = {"Name": r.driver, "Options": r.driver_options or None}
            entry["VolumeOptions"] = options
        if r.type == "tmpfs" and (r.tmpfs_size or r.tmpfs_mode):
            entry["TmpfsOptions"] = {**({"SizeBytes": r.tmpfs_size} if r.tmpfs_size else {}),
                                     **({"Mode": r.tmpfs_mode} if r.tmpfs_mode else {})}
        out.append(entry)
    return out or None


def mount_point_json(p: MountPoint) -> dict:
    """An entry of inspect's (and the container list's) Mounts, in Docker's shape."""
    if p.type == "volume":
        return {"Type": "volume", "Name": p.name, "Source": p.source, "Destination": p.destination,
                "Driver": p.driver or "local", "Mode": p.mode, "RW": p.rw, "Propagation": p.propagation}
    return {"Type": p.type, "Source": p.source, "Destination": p.destination, "Mode": p.mode,
            "RW": p.rw, "Propagation": p.propagation}
