"""System commands: version, info, system df, and the prunes (system, container, image)."""

from __future__ import annotations

import os
import sys

from hako.client.errors import ClientError

from ..command import Command, no_args
from ..context import PROG
from ..flags import LIST, STRING, Flag
from ..formatter import render_one, render_rows
from ..units import bytes_size, human_size
from .common import FORMAT_HELP, encode_filters, parse_filters

CLIENT_VERSION = "0.1.0"


# -- version ----------------------------------------------------------------------------------

def _client_info(cli) -> dict:
    from hako.client.api import MAX_API_VERSION
    return {
        "Platform": {"Name": ""},
        "Version": CLIENT_VERSION,
        "ApiVersion": cli.client.version or MAX_API_VERSION,
        "DefaultAPIVersion": MAX_API_VERSION,
        "PythonVersion": "%d.%d.%d" % sys.version_info[:3],
        "Os": sys.platform,
        "Arch": _arch(),
        "Context": "default",
    }


def _arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def version(cli, opts, args) -> int:
    client_info = None
    server = None
    error = None
    try:
        cli.client.ping()
        client_info = _client_info(cli)
        server = cli.client.get_json("/version")
    except ClientError as exc:
        error = exc
        client_info = client_info or _client_info(cli)
    if opts["format"]:
        cli.out.write(render_one(opts["format"], {"Client": client_info, "Server": server}))
    else:
        cli.out.write(format_version(client_info, server))
    if error is not None:
        raise error
    return 0


def format_version(client: dict, server: dict | None) -> str:
    api = client["ApiVersion"]
    if api != client["DefaultAPIVersion"]:
        api += f" (downgraded from {client['DefaultAPIVersion']})"
    lines = ["Client:",
             f" Version:           {client['Version']}",
             f" API version:       {api}",
             f" Python version:    {client['PythonVersion']}",
             f" OS/Arch:           {client['Os']}/{client['Arch']}",
             f" Context:           {client['Context']}"]
    if server is not None:
        lines += ["", "Server:" + (f" {server['Platform']['Name']}" if (server.get("Platform") or {}).get("Name") else "")]
        for component in server.get("Components") or [_engine_component(server)]:
            details = component.get("Details") or {}
            lines.append(f" {component.get('Name', '')}:")
            if component.get("Name") == "Engine":
                lines += [f"  Version:          {component.get('Version', '')}",
                          f"  API version:      {details.get('ApiVersion', '')} (minimum version {details.get('MinAPIVersion', '')})",
                          f"  Go version:       {details.get('GoVersion', '')}",
                          f"  Git commit:       {details.get('GitCommit', '')}",
                          f"  Built:            {ansic_time(details.get('BuildTime', ''))}",
                          f"  OS/Arch:          {details.get('Os', '')}/{details.get('Arch', '')}",
                          f"  Experimental:     {details.get('Experimental', '')}"]
            else:
                lines.append(f"  Version:          {component.get('Version', '')}")
                for key in sorted(details):
                    lines.append(f"  {(key + ':').ljust(18)}{details[key]}")
    return "\n".join(lines) + "\n"


def ansic_time(text: str) -> str:
    """RFC 3339 -> Go's time.ANSIC ("Thu May  7 21:09:36 2026"), as docker shows build times.
    (Parsed by hand: time.strptime would import locale and re for one line of output.)"""
    import datetime
    try:
        stamp = datetime.datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]),
                                  int(text[11:13]), int(text[14:16]), int(text[17:19]))
    except ValueError:
        return text
    return stamp.strftime("%a %b %e %H:%M:%S %Y")


def _engine_component(server: dict) -> dict:
    # Servers that send no Components (old API versions): build the Engine entry from the top.
    return {"Name": "Engine", "Version": server.get("Version", ""),
            "Details": {"ApiVersion": server.get("ApiVersion", ""),
                        "MinAPIVersion": server.get("MinAPIVersion", ""),
                        "GoVersion": server.get("GoVersion", ""),
                        "GitCommit": server.get("GitCommit", ""),
                        "BuildTime": server.get("BuildTime", ""),
                        "Os": server.get("Os", ""), "Arch": server.get("Arch", ""),
                        "Experimental": str(server.get("Experimental", False)).lower()}}


VERSION = Command("[OPTIONS]", "Show the hako version information",
                  flags=(Flag("format", "f", STRING, help="Format output using a custom template"),),
                  args=no_args, action=version)


# -- info -------------------------------------------------------------------------------------

def info(cli, opts, args) -> int:
    data = None
    error = None
    try:
        data = cli.client.get_json("/info")
    except ClientError as exc:
        error = exc
    if opts["format"]:
        if error is not None:
            raise error
        cli.out.write(render_one(opts["format"], data))
        return 0
    lines = ["Client:", f" Version:    {CLIENT_VERSION}", " Context:    default", " Debug Mode: false", "",
             "Server:"]
    cli.out.write("\n".join(lines) + "\n")
    if error is not None:
        raise error
    cli.out.write(format_info(data))
    return 0


def format_info(d: dict) -> str:
    out = [f" Containers: {d.get('Containers', 0)}",
           f"  Running: {d.get('ContainersRunning', 0)}",
           f"  Paused: {d.get('ContainersPaused', 0)}",
           f"  Stopped: {d.get('ContainersStopped', 0)}",
           f" Images: {d.get('Images', 0)}",
           f" Server Version: {d.get('ServerVersion', '')}",
           f" Storage Driver: {d.get('Driver', '')}"]
    for pair in d.get("DriverStatus") or []:
        out.append(f"  {pair[0]}: {pair[1]}")
    out += [f" Logging Driver: {d.get('LoggingDriver', '')}",
            f" Cgroup Driver: {d.get('CgroupDriver', '')}",
            f" Cgroup Version: {d.get('CgroupVersion', '')}"]
    plugins = d.get("Plugins") or {}
    out.append(" Plugins:")
    for kind in ("Volume", "Network", "Authorization", "Log"):
        if plugins.get(kind):
            out.append(f"  {kind}: {' '.join(plugins[kind])}")
    swarm = (d.get("Swarm") or {}).get("LocalNodeState") or "inactive"
    out.append(f" Swarm: {swarm}")
    if d.get("Runtimes"):
        out.append(f" Runtimes: {' '.join(sorted(d['Runtimes']))}")
    out.append(f" Default Runtime: {d.get('DefaultRuntime', '')}")
    if d.get("InitBinary"):
        out.append(f" Init Binary: {d['InitBinary']}")
    for key, label in (("ContainerdCommit", "containerd version"), ("RuncCommit", "runc version"),
                       ("InitCommit", "init version")):
        if isinstance(d.get(key), dict):
            out.append(f" {label}: {d[key].get('ID', '')}")
    security = d.get("SecurityOptions") or []
    if security:
        out.append(" Security Options:")
        for option in security:
            fields = dict(f.split("=", 1) for f in option.split(",") if "=" in f)
            out.append(f"  {fields.get('name', option)}")
            for key, value in fields.items():
                if key != "name":
                    out.append(f"   {key.capitalize()}: {value}")
    out += [f" Kernel Version: {d.get('KernelVersion', '')}",
            f" Operating System: {d.get('OperatingSystem', '')}",
            f" OSType: {d.get('OSType', '')}",
            f" Architecture: {d.get('Architecture', '')}",
            f" CPUs: {d.get('NCPU', 0)}",
            f" Total Memory: {bytes_size(d.get('MemTotal', 0))}",
            f" Name: {d.get('Name', '')}",
            f" ID: {d.get('ID', '')}",
            f" {PROG.capitalize()} Root Dir: {d.get('DockerRootDir', '')}",
            f" Debug Mode: {str(d.get('Debug', False)).lower()}"]
    for key, label in (("HttpProxy", "HTTP Proxy"), ("HttpsProxy", "HTTPS Proxy"), ("NoProxy", "No Proxy")):
        if d.get(key):
            out.append(f" {label}: {d[key]}")
    if d.get("Labels"):
        out.append(" Labels:")
        out += [f"  {label}" for label in d["Labels"]]
    out.append(f" Experimental: {str(d.get('ExperimentalBuild', False)).lower()}")
    registry = d.get("RegistryConfig") or {}
    insecure = registry.get("InsecureRegistryCIDRs") or []
    insecure += [name for name, idx in (registry.get("IndexConfigs") or {}).items() if not idx.get("Secure", True)]
    if insecure:
        out.append(" Insecure Registries:")
        out += [f"  {item}" for item in insecure]
    out.append(f" Live Restore Enabled: {str(d.get('LiveRestoreEnabled', False)).lower()}")
    warnings = d.get("Warnings") or []
    text = "\n".join(out) + "\n\n"
    if warnings:
        text += "\n".join(warnings) + "\n"
    return text


INFO = Command("[OPTIONS]", "Display system-wide information",
               flags=(Flag("format", "f", STRING, help="Format output using a custom template"),),
               args=no_args, action=info, aliases=("system info", "info"))


# -- system df --------------------------------------------------------------------------------

class DfRow:
    def __init__(self, kind, total, active, size, reclaimable) -> None:
        self.Type, self.TotalCount, self.Active = kind, str(total), str(active)
        self.Size, self.Reclaimable = size, reclaimable

    def as_dict(self) -> dict:
        return {"Active": self.Active, "Reclaimable": self.Reclaimable, "Size": self.Size,
                "TotalCount": self.TotalCount, "Type": self.Type}


DF_HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
              "Reclaimable": "RECLAIMABLE"}


def _with_percent(reclaimable: int, total: int) -> str:
    if total > 0:
        return f"{human_size(reclaimable, 4)} ({reclaimable * 100 // total}%)"
    return human_size(reclaimable, 4)


def df_rows(usage: dict) -> list[DfRow]:
    images = usage.get("Images") or []
    layers = usage.get("LayersSize") or 0
    used = sum(i.get("Size", 0) - max(i.get("SharedSize", 0), 0)
               for i in images if i.get("Containers", 0) and i.get("SharedSize", 0) != -1)
    containers = usage.get("Containers") or []
    active_c = [c for c in containers if c.get("State") in ("running", "paused")]
    c_size = sum(c.get("SizeRw", 0) or 0 for c in containers)
    c_reclaim = sum(c.get("SizeRw", 0) or 0 for c in containers if c not in active_c)
    volumes = usage.get("Volumes") or []
    v_usage = [(v.get("UsageData") or {}) for v in volumes]
    v_size = sum(u.get("Size", 0) for u in v_usage if u.get("Size", -1) != -1)
    v_reclaim = sum(u.get("Size", 0) for u in v_usage if u.get("RefCount", 0) == 0 and u.get("Size", -1) != -1)
    caches = usage.get("BuildCache") or []
    b_size = sum(b.get("Size", 0) for b in caches if not b.get("Shared"))
    b_reclaim = sum(b.get("Size", 0) for b in caches if not b.get("InUse") and not b.get("Shared"))
    return [
        DfRow("Images", len(images), sum(1 for i in images if i.get("Containers", 0) > 0),
              human_size(layers, 4), _with_percent(layers - used, layers)),
        DfRow("Containers", len(containers), len(active_c), human_size(c_size, 4),
              _with_percent(c_reclaim, c_size)),
        DfRow("Local Volumes", len(volumes), sum(1 for u in v_usage if u.get("RefCount", 0) > 0),
              human_size(v_size, 4), _with_percent(v_reclaim, v_size)),
        DfRow("Build Cache", len(caches), sum(1 for b in caches if b.get("InUse")),
              human_size(b_size, 4), human_size(b_reclaim, 4)),
    ]


def df(cli, opts, args) -> int:
    usage = cli.client.get_json("/system/df")
    if opts["verbose"]:
        cli.out.write(_df_verbose(usage))
        return 0
    columns = [("Type", "TYPE"), ("TotalCount", "TOTAL"), ("Active", "ACTIVE"), ("Size", "SIZE"),
               ("Reclaimable", "RECLAIMABLE")]
    cli.out.write(render_rows(opts["format"], df_rows(usage), columns, DF_HEADERS))
    return 0


def _df_verbose(usage: dict) -> str:
    from ..tabwriter import tabulate
    from .images import image_rows
    from .ps import ContainerRow

    images = image_rows(usage.get("Images") or [], True, False)
    lines = ["REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"]
    lines += ["\t".join((r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size, r.SharedSize,
                         human_size(r.s.get("Size", 0) - max(r.s.get("SharedSize", 0), 0), 4),
                         str(r.s.get("Containers", 0)))) for r in images]
    text = "Images space usage:\n\n" + tabulate("\n".join(lines) + "\n")
    lines = ["CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES"]
    for c in usage.get("Containers") or []:
        row = ContainerRow(c)
        lines.append("\t".join((row.ID, row.Image, row.Command, row.LocalVolumes,
                                human_size(c.get("SizeRw", 0) or 0), row.RunningFor, row.Status,
                                row.Names)))
    text += "\nContainers space usage:\n\n" + tabulate("\n".join(lines) + "\n")
    lines = ["VOLUME NAME\tLINKS\tSIZE"]
    for v in usage.get("Volumes") or []:
        u = v.get("UsageData") or {}
        lines.append(f"{v.get('Name', '')}\t{u.get('RefCount', 0)}\t{human_size(u.get('Size', 0), 4)}")
    text += "\nLocal Volumes space usage:\n\n" + tabulate("\n".join(lines) + "\n")
    caches = usage.get("BuildCache") or []
    total = sum(b.get("Size", 0) for b in caches)
    lines = ["CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED"]
    text += f"\nBuild cache usage: {human_size(total, 4)}\n\n" + tabulate("\n".join(lines) + "\n")
    return text


DF = Command("[OPTIONS]", "Show hako disk usage",
             flags=(Flag("format", None, STRING, help=FORMAT_HELP),
                    Flag("verbose", "v", help="Show detailed information on space usage")),
             args=no_args, action=df)


# -- prune ------------------------------------------------------------------------------------

def _confirm(cli, warning: str) -> bool:
    cli.out.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = os.read(cli.stdin_fd, 1)
        if not chunk:
            break
        answer += chunk
    return answer.decode(errors="replace").strip().lower() in ("y", "yes")


def _prune_containers(cli, filters: dict) -> tuple[int, str]:
    query = {"filters": encode_filters(filters)} if filters else None
    report = cli.client.post_json("/containers/prune", query) or {}
    deleted = report.get("ContainersDeleted") or []
    output = "Deleted Containers:\n" + "".join(f"{i}\n" for i in deleted) if deleted else ""
    return report.get("SpaceReclaimed") or 0, output


def _prune_networks(cli, filters: dict) -> tuple[int, str]:
    query = {"filters": encode_filters(filters)} if filters else None
    report = cli.client.post_json("/networks/prune", query) or {}
    deleted = report.get("NetworksDeleted") or []
    return 0, ("Deleted Networks:\n" + "".join(f"{n}\n" for n in deleted) if deleted else "")


def _prune_volumes(cli, filters: dict) -> tuple[int, str]:
    query = {"filters": encode_filters(filters)} if filters else None
    report = cli.client.post_json("/volumes/prune", query) or {}
    deleted = report.get("VolumesDeleted") or []
    output = "Deleted Volumes:\n" + "".join(f"{v}\n" for v in deleted) if deleted else ""
    return report.get("SpaceReclaimed") or 0, output


def _prune_images(cli, filters: dict, all_images: bool) -> tuple[int, str]:
    query_filters = {"dangling": {"false" if all_images else "true": True}}
    query_filters.update(filters)
    report = cli.client.post_json("/images/prune", {"filters": encode_filters(query_filters)}) or {}
    deleted = report.get("ImagesDeleted") or []
    output = ""
    if deleted:
        output = "Deleted Images:\n"
        for item in deleted:
            if item.get("Untagged"):
                output += f"untagged: {item['Untagged']}\n"
            else:
                output += f"deleted: {item.get('Deleted', '')}\n"
    return report.get("SpaceReclaimed") or 0, output


def _prune_build_cache(cli, filters: dict, all_cache: bool) -> tuple[int, str]:
    query = {"all": "1"} if all_cache else {}
    query["filters"] = encode_filters(filters) if filters else ""
    try:
        report = cli.client.post_json("/build/prune", query) or {}
    except ClientError as exc:
        if getattr(exc, "status", 0) == 404:  # a daemon without a build cache
            return 0, ""
        raise
    deleted = report.get("CachesDeleted") or []
    output = "Deleted build cache objects:\n" + "".join(f"{c}\n" for c in deleted) if deleted else ""
    return report.get("SpaceReclaimed") or 0, output


def _report(cli, reclaimed: int, outputs: list[str]) -> None:
    for output in outputs:
        if output:
            cli.out.write(output + "\n")
    cli.out.write(f"Total reclaimed space: {human_size(reclaimed, 4)}\n")


def system_prune(cli, opts, args) -> int:
    filters = parse_filters(opts["filter"])
    if not opts["force"]:
        items = ["all stopped containers", "all networks not used by at least one container"]
        if opts["volumes"]:
            items.append("all anonymous volumes not used by at least one container")
        items.append("all images without at least one container associated to them" if opts["all"]
                     else "all dangling images")
        items.append("all build cache" if opts["all"] else "unused build cache")
        warning = "WARNING! This will remove:\n" + "".join(f"  - {i}\n" for i in items)
        if not _confirm(cli, warning):
            return 0
    total, outputs = 0, []
    steps = [lambda: _prune_containers(cli, filters), lambda: _prune_networks(cli, filters)]
    if opts["volumes"]:
        steps.append(lambda: _prune_volumes(cli, filters))
    steps.append(lambda: _prune_images(cli, filters, opts["all"]))
    steps.append(lambda: _prune_build_cache(cli, filters, opts["all"]))
    for step in steps:
        reclaimed, output = step()
        total += reclaimed
        outputs.append(output)
    _report(cli, total, outputs)
    return 0


def container_prune(cli, opts, args) -> int:
    filters = parse_filters(opts["filter"])
    if not opts["force"] and not _confirm(cli, "WARNING! This will remove all stopped containers."):
        return 0
    reclaimed, output = _prune_containers(cli, filters)
    _report(cli, reclaimed, [output])
    return 0


def image_prune(cli, opts, args) -> int:
    filters = parse_filters(opts["filter"])
    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if opts["all"] else "WARNING! This will remove all dangling images.")
    if not opts["force"] and not _confirm(cli, warning):
        return 0
    reclaimed, output = _prune_images(cli, filters, opts["all"])
    _report(cli, reclaimed, [output])
    return 0


_FILTER = Flag("filter", None, LIST, help='Provide filter values (e.g. "label=<key>=<value>")')
_FORCE = Flag("force", "f", help="Do not prompt for confirmation")

SYSTEM_PRUNE = Command("[OPTIONS]", "Remove unused data",
                       flags=(Flag("all", "a", help="Remove all unused images not just dangling ones"),
                              _FILTER, _FORCE,
                              Flag("volumes", None, help="Prune anonymous volumes")),
                       args=no_args, action=system_prune)
CONTAINER_PRUNE = Command("[OPTIONS]", "Remove all stopped containers", flags=(_FILTER, _FORCE),
                          args=no_args, action=container_prune)
IMAGE_PRUNE = Command("[OPTIONS]", "Remove unused images",
                      flags=(Flag("all", "a", help="Remove all unused images, not just dangling ones"),
                             _FILTER, _FORCE),
                      args=no_args, action=image_prune)
