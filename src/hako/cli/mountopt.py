"""`--mount type=…,source=…,target=…`: docker's CSV form of a mount, into HostConfig.Mounts JSON
(cli/opts/mount.go: the keys, their aliases and its messages)."""

from __future__ import annotations

import csv

from .units import ram_in_bytes

_BOOLS = {"1": True, "t": True, "true": True, "0": False, "f": False, "false": False}


def _bool(key: str, value: str) -> bool:
    if value.lower() not in _BOOLS:
        raise ValueError(f"invalid value for {key}: {value}")
    return _BOOLS[value.lower()]


def parse_mount(text: str) -> dict:
    """One --mount value as Docker's mount.Mount JSON; ValueError with docker's message."""
    mount: dict = {}
    bind: dict = {}
    volume: dict = {}
    tmpfs: dict = {}
    fields = next(csv.reader([text])) if text else []
    for field in fields:
        key, sep, value = field.partition("=")
        key = key.strip().lower()
        if not sep:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
                continue
            if key == "volume-nocopy":
                volume["NoCopy"] = True
                continue
            raise ValueError(f"invalid field '{field}' must be a key=value pair")
        if key == "type":
            mount["Type"] = value.lower()
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = _bool(key, value)
        elif key == "consistency":
            mount["Consistency"] = value
        elif key == "bind-propagation":
            bind["Propagation"] = value.lower()
        elif key == "volume-nocopy":
            volume["NoCopy"] = _bool(key, value)
        elif key == "volume-label":
            k, _, v = value.partition("=")
            volume.setdefault("Labels", {})[k] = v
        elif key == "volume-driver":
            volume.setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            k, _, v = value.partition("=")
            volume.setdefault("DriverConfig", {}).setdefault("Options", {})[k] = v
        elif key == "tmpfs-size":
            try:
                tmpfs["SizeBytes"] = ram_in_bytes(value)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(value, 8)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    mount.setdefault("Type", "volume")
    kind = mount["Type"]
    for options, prefix, wanted, name in ((bind, "bind", "bind", "BindOptions"), (volume, "volume", "volume", "VolumeOptions"),
                                          (tmpfs, "tmpfs", "tmpfs", "TmpfsOptions")):
        if options:
            if kind != wanted:
                raise ValueError(f"cannot mix '{prefix}-*' options with mount type '{kind}'")
            mount[name] = options
    return mount
