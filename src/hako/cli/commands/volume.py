"""`hako volume create|ls|inspect|rm|prune`, with docker's flags, tables and messages."""

from __future__ import annotations

from ..command import Command, StatusError, at_least, at_most, no_args
from ..flags import LIST, STRING, Flag
from ..formatter import render_rows
from .common import FORMAT_HELP, encode_filters, finish, for_each, parse_filters

VOLUME_HEADERS = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
                  "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED AT"}


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if flag == "opt" and not sep:
            raise StatusError(125, f'invalid argument "{item}" for "-o, --opt" flag: bad format: {item}')
        out[key] = value
    return out


def create(cli, opts, args) -> int:
    name = args[0] if args else opts["name"]
    if args and opts["name"] and opts["name"] != args[0]:
        raise StatusError(1, "conflicting options: either specify --name or provide positional arg, not both")
    body = {"Driver": opts["driver"] or "local", "DriverOpts": _pairs(opts["opt"], "opt"),
            "Labels": _pairs(opts["label"], "label"), "Name": name or ""}
    volume = cli.client.post_json("/volumes/create", None, body) or {}
    cli.out.write(volume.get("Name", "") + "\n")
    return 0


class VolumeRow:
    def __init__(self, volume: dict) -> None:
        self.volume = volume
        self.Name = volume.get("Name", "")
        self.Driver = volume.get("Driver", "")
        self.Scope = volume.get("Scope", "")
        self.Mountpoint = volume.get("Mountpoint", "")
        self.CreatedAt = volume.get("CreatedAt", "")
        labels = volume.get("Labels") or {}
        self.Labels = ",".join(f"{k}={v}" for k, v in labels.items())
        self.Links = "N/A"
        self.Size = "N/A"

    def Label(self, name: str) -> str:
        return (self.volume.get("Labels") or {}).get(name, "")

    def as_dict(self) -> dict:
        return {"Availability": "N/A", "Driver": self.Driver, "Group": "N/A", "Labels": self.Labels,
                "Links": self.Links, "Mountpoint": self.Mountpoint, "Name": self.Name, "Scope": self.Scope,
                "Size": self.Size, "Status": "N/A"}


def ls(cli, opts, args) -> int:
    filters = parse_filters(opts["filter"])
    query = {"filters": encode_filters(filters)} if filters else None
    volumes = (cli.client.get_json("/volumes", query) or {}).get("Volumes") or []
    volumes.sort(key=lambda v: v.get("Name", ""))
    rows = [VolumeRow(v) for v in volumes]
    if opts["quiet"]:
        cli.out.write("".join(row.Name + "\n" for row in rows))
        return 0
    cli.out.write(render_rows(opts["format"], rows, [("Driver", "DRIVER"), ("Name", "VOLUME NAME")], VOLUME_HEADERS))
    return 0


def inspect(cli, opts, args) -> int:
    from .inspect import inspect_objects

    return inspect_objects(cli, dict(opts, size=False), args, ("volume",))


def rm(cli, opts, args) -> int:
    query = {"force": "1"} if opts["force"] else None
    return finish(for_each(cli, args, lambda name: cli.client.delete(f"/volumes/{name}", query)))


def prune(cli, opts, args) -> int:
    from .system import _confirm, _report

    filters = parse_filters(opts["filter"])
    if opts["all"]:
        if "all" in filters:
            raise StatusError(125, "conflicting options: cannot specify both --all and --filter all=1")
        filters["all"] = {"true": True}
    warning = ("WARNING! This will remove all local volumes not used by at least one container." if opts["all"]
               else "WARNING! This will remove anonymous local volumes not used by at least one container.")
    if not opts["force"] and not _confirm(cli, warning):
        return 0
    query = {"filters": encode_filters(filters)} if filters else None
    report = cli.client.post_json("/volumes/prune", query) or {}
    deleted = report.get("VolumesDeleted") or []
    output = "Deleted Volumes:\n" + "".join(f"{v}\n" for v in deleted) if deleted else ""
    _report(cli, report.get("SpaceReclaimed") or 0, [output])
    return 0


CREATE = Command("[OPTIONS] [VOLUME]", "Create a volume",
                 flags=(Flag("driver", "d", STRING, default="local", help="Specify volume driver name"),
                        Flag("label", None, LIST, help="Set metadata for a volume"),
                        Flag("name", None, STRING, help="Specify volume name", hidden=True),
                        Flag("opt", "o", LIST, help="Set driver specific options")),
                 args=at_most(1), action=create, aliases=("volume create",))
LS = Command("[OPTIONS]", "List volumes",
             flags=(Flag("filter", "f", LIST, help="Provide filter values (e.g. \"dangling=true\")"),
                    Flag("format", None, STRING, help=FORMAT_HELP),
                    Flag("quiet", "q", help="Only display volume names")),
             args=no_args, action=ls, aliases=("volume ls", "volume list"))
INSPECT = Command("[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
                  flags=(Flag("format", "f", STRING, help="Format output using a custom template"),),
                  args=at_least(1), action=inspect, aliases=("volume inspect",))
RM = Command("[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
             flags=(Flag("force", "f", help="Force the removal of one or more volumes"),),
             args=at_least(1), action=rm, aliases=("volume rm", "volume remove"))
PRUNE = Command("[OPTIONS]", "Remove unused local volumes",
                flags=(Flag("all", "a", help="Remove all unused volumes, not just anonymous ones"),
                       Flag("filter", None, LIST, help='Provide filter values (e.g. "label=<label>")'),
                       Flag("force", "f", help="Do not prompt for confirmation")),
                args=no_args, action=prune, aliases=("volume prune",))
