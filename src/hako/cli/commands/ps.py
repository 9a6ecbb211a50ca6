"""`hako ps` (`container ls`): the container list, as docker lays it out."""

from __future__ import annotations

from ..command import Command, StatusError, no_args
from ..flags import INT, LIST, STRING, Flag
from ..formatter import compile_or_fail, render_rows, template_engine
from ..gofmt import go_quote, truncate_id
from ..tabwriter import ellipsis
from ..units import go_time_string, human_size, time_ago
from .common import FORMAT_HELP, encode_filters, parse_filters

PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
              "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
              "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES",
              "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES",
              "Networks": "NETWORKS", "Platform": "PLATFORM"}


class ContainerRow:
    """One container of `GET /containers/json`, with docker's placeholders as attributes."""

    GO_TYPE = "*formatter.ContainerContext"  # the type docker's template errors name

    def __init__(self, summary: dict, trunc: bool = True) -> None:
        self.c = summary
        self.trunc = trunc

    @property
    def ID(self) -> str:
        ident = self.c.get("Id", "")
        return truncate_id(ident) if self.trunc else ident

    @property
    def Names(self) -> str:
        names = [n[1:] if n.startswith("/") else n for n in self.c.get("Names") or ()]
        if self.trunc:
            # Links add "other/alias" names; show only the container's own name.
            for name in names:
                if "/" not in name:
                    names = [name]
                    break
        return ",".join(names)

    @property
    def Image(self) -> str:
        image = self.c.get("Image", "")
        if not image:
            return "<no image>"
        if self.trunc:
            image_id = self.c.get("ImageID", "")
            if image_id and truncate_id(image_id) == truncate_id(image):
                return truncate_id(image)
            if "@" in image:
                return image.split("@", 1)[0]
        return image

    @property
    def Command(self) -> str:
        command = self.c.get("Command", "")
        return go_quote(ellipsis(command, 20) if self.trunc else command)

    @property
    def CreatedAt(self) -> str:
        return go_time_string(self.c.get("Created", 0))

    @property
    def RunningFor(self) -> str:
        return time_ago(self.c.get("Created", 0))

    @property
    def Ports(self) -> str:
        return displayable_ports(self.c.get("Ports") or [])

    @property
    def State(self) -> str:
        return self.c.get("State", "")

    @property
    def Status(self) -> str:
        return self.c.get("Status", "")

    @property
    def Size(self) -> str:
        rw = human_size(self.c.get("SizeRw") or 0)
        rootfs = self.c.get("SizeRootFs") or 0
        return f"{rw} (virtual {human_size(rootfs)})" if rootfs > 0 else rw

    @property
    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def Label(self, name: str) -> str:
        return (self.c.get("Labels") or {}).get(name, "")

    @property
    def Mounts(self) -> str:
        names = []
        for mount in self.c.get("Mounts") or ():
            name = mount.get("Name") or mount.get("Source", "")
            names.append(ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    @property
    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or () if m.get("Driver") == "local"))

    @property
    def Networks(self) -> str:
        networks = (self.c.get("NetworkSettings") or {}).get("Networks") or {}
        return ",".join(sorted(networks))

    @property
    def Platform(self):
        return None

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in sorted(PS_HEADERS)}


def displayable_ports(ports: list[dict]) -> str:
    """docker's DisplayablePorts: ``0.0.0.0:8000-8002->8000-8002/tcp, 9000/udp``. Ports that map
    to the same number are grouped into ranges per (ip, protocol); the rest are listed singly."""
    def order(p):
        return (p.get("PrivatePort", 0), p.get("IP", ""), p.get("PublicPort", 0), p.get("Type", ""))

    groups: dict[str, list[int]] = {}
    result: list[str] = []
    mappings: list[str] = []
    for port in sorted(ports, key=order):
        private, public = port.get("PrivatePort", 0), port.get("PublicPort", 0)
        proto, ip = port.get("Type", "tcp"), port.get("IP", "")
        key = proto
        if ip:
            if public != private:
                host = f"[{ip}]" if ":" in ip else ip
                mappings.append(f"{host}:{public}->{private}/{proto}")
                continue
            key = f"{ip}/{proto}"
        group = groups.get(key)
        if group is None:
            groups[key] = [private, private]
        elif private == group[1] + 1:
            group[1] = private
        else:
            result.append(_form_group(key, *group))
            groups[key] = [private, private]
    for key, (first, last) in groups.items():
        result.append(_form_group(key, first, last))
    return ", ".join(result + mappings)


def _form_group(key: str, first: int, last: int) -> str:
    ip, _, proto = key.rpartition("/")
    text = str(first) if first == last else f"{first}-{last}"
    if ip:
        text = f"{ip}:{text}->{text}"
    return f"{text}/{proto}"


class _SizeProbe(ContainerRow):
    """The empty container a --format is tried on before listing; notes a read of .Size
    (``{{json .}}`` reads every field, so it counts)."""

    def __init__(self) -> None:
        super().__init__({})
        self.size_read = False

    @property
    def Size(self) -> str:
        self.size_read = True
        return super().Size


def check_format(fmt: str) -> bool:
    """Validate a --format before asking for the list, as docker's ps does: parse the whole
    format, "table" prefix and all ("failed to parse template: "), run it once over an empty
    container ("failed to execute template: "), both with status 1. Returns whether it read
    .Size: only then does the list ask the daemon for sizes, which are costly to compute.
    ("json" and "table" parse as plain text, so they read nothing.)"""
    engine = template_engine()
    template = compile_or_fail(engine, fmt, "failed to parse template: ", 1)
    probe = _SizeProbe()
    try:
        template.execute(probe)
    except engine.TemplateError as exc:
        raise StatusError(1, f"failed to execute template: {exc}") from None
    return probe.size_read


def ps(cli, opts, args) -> int:
    query: dict = {}
    limit = opts["last"]
    if opts["latest"]:
        limit = 1
    if opts["all"] or limit > 0:
        query["all"] = "1"
    if limit > 0:
        query["limit"] = str(limit)
    reads_size = check_format(opts["format"]) if opts["format"] else False
    if opts["size"] or (not opts["quiet"] and reads_size):
        query["size"] = "1"
    filters = parse_filters(opts["filter"])
    if filters:
        query["filters"] = encode_filters(filters)
    containers = cli.client.get_json("/containers/json", query or None)
    rows = [ContainerRow(c, not opts["no_trunc"]) for c in containers]
    if opts["quiet"]:
        cli.out.write("".join(row.ID + "\n" for row in rows))
        return 0
    columns = [("ID", "CONTAINER ID"), ("Image", "IMAGE"), ("Command", "COMMAND"),
               ("RunningFor", "CREATED"), ("Status", "STATUS"), ("Ports", "PORTS"),
               ("Names", "NAMES")]
    if opts["size"]:
        columns.append(("Size", "SIZE"))
    cli.out.write(render_rows(opts["format"], rows, columns, PS_HEADERS))
    return 0


PS = Command("[OPTIONS]", "List containers",
             flags=(Flag("all", "a", help="Show all containers (default shows just running)"),
                    Flag("filter", "f", LIST, help="Filter output based on conditions provided"),
                    Flag("format", None, STRING, help=FORMAT_HELP),
                    Flag("last", "n", INT, default=-1, help="Show n last created containers (includes all states) (default -1)"),
                    Flag("latest", "l", help="Show the latest created container (includes all states)"),
                    Flag("no-trunc", None, help="Don't truncate output"),
                    Flag("quiet", "q", help="Only display container IDs"),
                    Flag("size", "s", help="Display total file sizes")),
             args=no_args, action=ps,
             aliases=("container ls", "container list", "container ps", "ps"))
