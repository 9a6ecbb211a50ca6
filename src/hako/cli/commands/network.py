"""`hako network create|ls|inspect|connect|disconnect|rm|prune` and `hako port`, as docker's."""

from __future__ import annotations

from hako.client.errors import APIError

from ..command import Command, StatusError, at_least, between, exactly, no_args
from ..flags import LIST, STRING, Flag
from ..formatter import render_rows
from ..gofmt import truncate_id
from .common import FORMAT_HELP, finish, parse_filters
from .inspect import inspect_objects


def _filters_query(filters: dict) -> dict | None:
    if not filters:
        return None
    from hako.client import jsoncodec

    return {"filters": jsoncodec.dumps(filters)}


# -- create -----------------------------------------------------------------------------------

def _key_values(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def create(cli, opts, args) -> int:
    subnets, gateways, ranges = opts["subnet"], opts["gateway"], opts["ip_range"]
    if len(gateways) > len(subnets) or len(ranges) > len(subnets):
        raise StatusError(1, "every ip-range or gateway must have a corresponding subnet")
    config = []
    for i, subnet in enumerate(subnets):
        entry = {"Subnet": subnet}
        if i < len(ranges):
            entry["IPRange"] = ranges[i]
        if i < len(gateways):
            entry["Gateway"] = gateways[i]
        config.append(entry)
    body = {
        "Name": args[0], "CheckDuplicate": True, "Driver": opts["driver"] or "bridge",
        "Scope": "", "EnableIPv6": opts["ipv6"], "IPAM": {"Driver": "default", "Options": _key_values(opts["ipam_opt"]) or {},
                                                          "Config": config},
        "Internal": opts["internal"], "Attachable": opts["attachable"], "Ingress": False,
        "ConfigOnly": False, "ConfigFrom": None, "Options": _key_values(opts["opt"]),
        "Labels": _key_values(opts["label"]),
    }
    result = cli.client.post_json("/networks/create", None, body)
    cli.out.write(result["Id"] + "\n")
    return 0


CREATE = Command("[OPTIONS] NETWORK", "Create a network",
                 flags=(Flag("attachable", None, help="Enable manual container attachment"),
                        Flag("driver", "d", STRING, default="bridge", help="Driver to manage the Network"),
                        Flag("gateway", None, LIST, help="IPv4 or IPv6 Gateway for the master subnet"),
                        Flag("internal", None, help="Restrict external access to the network"),
                        Flag("ip-range", None, LIST, help="Allocate container ip from a sub-range"),
                        Flag("ipam-driver", None, STRING, default="default", help="IP Address Management Driver"),
                        Flag("ipam-opt", None, LIST, help="Set IPAM driver specific options"),
                        Flag("ipv6", None, help="Enable or disable IPv6 networking"),
                        Flag("label", None, LIST, help="Set metadata on a network"),
                        Flag("opt", "o", LIST, help="Set driver specific options"),
                        Flag("subnet", None, LIST, help="Subnet in CIDR format that represents a network segment")),
                 args=exactly(1), action=create)


# -- ls ---------------------------------------------------------------------------------------

class NetworkRow:
    GO_TYPE = "*formatter.networkContext"

    def __init__(self, network: dict, trunc: bool) -> None:
        self.n = network
        self.trunc = trunc

    @property
    def ID(self) -> str:
        return truncate_id(self.n["Id"]) if self.trunc else self.n["Id"]

    @property
    def Name(self) -> str:
        return self.n["Name"]

    @property
    def Driver(self) -> str:
        return self.n["Driver"]

    @property
    def Scope(self) -> str:
        return self.n["Scope"]

    @property
    def IPv6(self) -> str:
        return "true" if self.n.get("EnableIPv6") else "false"

    @property
    def Internal(self) -> str:
        return "true" if self.n.get("Internal") else "false"

    @property
    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted((self.n.get("Labels") or {}).items()))

    @property
    def CreatedAt(self) -> str:
        return self.n.get("Created", "")

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in sorted(NETWORK_HEADERS)}


NETWORK_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                   "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}


def ls(cli, opts, args) -> int:
    networks = cli.client.get_json("/networks", _filters_query(parse_filters(opts["filter"])))
    networks.sort(key=lambda n: n["Name"])
    rows = [NetworkRow(n, not opts["no_trunc"]) for n in networks]
    if opts["quiet"]:
        cli.out.write("".join(row.ID + "\n" for row in rows))
        return 0
    columns = [("ID", "NETWORK ID"), ("Name", "NAME"), ("Driver", "DRIVER"), ("Scope", "SCOPE")]
    cli.out.write(render_rows(opts["format"], rows, columns, NETWORK_HEADERS))
    return 0


LS = Command("[OPTIONS]", "List networks",
             flags=(Flag("filter", "f", LIST, help="Provide filter values (e.g. \"driver=bridge\")"),
                    Flag("format", None, STRING, help=FORMAT_HELP),
                    Flag("no-trunc", None, help="Do not truncate the output"),
                    Flag("quiet", "q", help="Only display network IDs")),
             args=no_args, action=ls)


# -- inspect, connect, disconnect, rm, prune --------------------------------------------------

def inspect(cli, opts, args) -> int:
    return inspect_objects(cli, dict(opts, size=False), args, ("network",))


INSPECT = Command("[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks",
                  flags=(Flag("format", "f", STRING, help="Format output using a custom template"),
                         Flag("verbose", "v", help="Verbose output for diagnostics")),
                  args=at_least(1), action=inspect)


def connect(cli, opts, args) -> int:
    endpoint = {"IPAMConfig": {"IPv4Address": opts["ip"]} if opts["ip"] else None,
                "Links": None, "Aliases": opts["alias"] or None}
    cli.client.post(f"/networks/{args[0]}/connect", None, {"Container": args[1], "EndpointConfig": endpoint})
    return 0


CONNECT = Command("[OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
                  flags=(Flag("alias", None, LIST, help="Add network-scoped alias for the container"),
                         Flag("ip", None, STRING, help="IPv4 address (e.g., \"172.30.100.104\")")),
                  args=exactly(2), action=connect)


def disconnect(cli, opts, args) -> int:
    cli.client.post(f"/networks/{args[0]}/disconnect", None, {"Container": args[1], "Force": opts["force"]})
    return 0


DISCONNECT = Command("[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
                     flags=(Flag("force", "f", help="Force the container to disconnect from a network"),),
                     args=exactly(2), action=disconnect)


def rm(cli, opts, args) -> int:
    errors = []
    for name in args:
        try:
            cli.client.delete(f"/networks/{name}")
        except APIError as exc:
            if not (opts["force"] and exc.status == 404):
                errors.append(f"Error response from daemon: {exc.message}")
            continue
        cli.out.write(name + "\n")
    return finish(errors)


RM = Command("NETWORK [NETWORK...]", "Remove one or more networks",
             flags=(Flag("force", "f", help="Do not error if the network does not exist"),),
             args=at_least(1), action=rm)


def prune(cli, opts, args) -> int:
    if not opts["force"]:
        from .system import _confirm

        if not _confirm(cli, "WARNING! This will remove all custom networks not used by at least one container."):
            return 0
    report = cli.client.post_json("/networks/prune", _filters_query(parse_filters(opts["filter"]))) or {}
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        cli.out.write("Deleted Networks:\n" + "".join(name + "\n" for name in deleted) + "\n")
    return 0


PRUNE = Command("[OPTIONS]", "Remove all unused networks",
                flags=(Flag("filter", None, LIST, help="Provide filter values (e.g. \"until=<timestamp>\")"),
                       Flag("force", "f", help="Do not prompt for confirmation")),
                args=no_args, action=prune)


# -- port -------------------------------------------------------------------------------------

def port(cli, opts, args) -> int:
    container = cli.client.get_json(f"/containers/{args[0]}/json")
    ports = (container.get("NetworkSettings") or {}).get("Ports") or {}
    if len(args) > 1:
        wanted = args[1] if "/" in args[1] else args[1] + "/tcp"
        bindings = ports.get(wanted)
        if not bindings:
            raise StatusError(1, f"Error: No public port '{wanted}' published for {args[0]}")
        cli.out.write("".join(f"{b['HostIp']}:{b['HostPort']}\n" for b in bindings))
        return 0
    lines = []
    for key in sorted(ports, key=lambda k: (int(k.split("/")[0]), k)):
        for b in ports[key] or []:
            lines.append(f"{key} -> {b['HostIp']}:{b['HostPort']}\n")
    cli.out.write("".join(lines))
    return 0


PORT = Command("CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container",
               args=between(1, 2), action=port, aliases=("container port", "port"))
