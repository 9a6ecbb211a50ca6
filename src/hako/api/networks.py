"""/networks/*, and the network parts of a container's JSON (NetworkSettings, Ports), in Docker's shape."""

from __future__ import annotations

import time

from aiohttp import web

from ..errdefs import InvalidArgument
from .server import COMMON_HEADERS, json_body, json_response, label_matches, labels_match, query_filters


def register(router) -> None:
    add = router.add
    add("GET", "/networks", list_networks)
    add("POST", "/networks/create", create)
    add("POST", "/networks/prune", prune)
    add("GET", "/networks/{id}", inspect)
    add("DELETE", "/networks/{id}", remove)
    add("POST", "/networks/{id}/connect", connect)
    add("POST", "/networks/{id}/disconnect", disconnect)


def _engine(request):
    return request.app["engine"]


# rendering
def _rfc3339(ts: float) -> str:
    from .convert import rfc3339

    return rfc3339(ts)


def network_json(engine, network, with_containers: bool = True) -> dict:
    ipam_config = []
    if network.subnet:
        entry = {"Subnet": network.subnet, "Gateway": network.gateway}
        if network.ip_range:
            entry["IPRange"] = network.ip_range
        ipam_config.append(entry)
    containers = {}
    if with_containers:
        manager = engine.networks
        for cid, eps in manager.endpoints.items():
            for ep in eps:
                if ep.network_id != network.id or not ep.ip:
                    continue
                prefix = network.subnet.split("/")[1]
                container = engine.containers.containers.get(cid)
                containers[cid] = {"Name": container.name if container else cid[:12], "EndpointID": ep.id,
                                   "MacAddress": ep.mac, "IPv4Address": f"{ep.ip}/{prefix}", "IPv6Address": ""}
        if network.driver in ("host", "null"):
            mode = "host" if network.driver == "host" else "none"
            for c in engine.containers.containers.values():
                if c.host_config.network_mode == mode and c.state.status in ("running", "paused"):
                    containers[c.id] = {"Name": c.name, "EndpointID": "", "MacAddress": "",
                                        "IPv4Address": "", "IPv6Address": ""}
    return {
        "Name": network.name, "Id": network.id, "Created": _rfc3339(network.created), "Scope": "local",
        "Driver": network.driver, "EnableIPv6": network.enable_ipv6,
        "IPAM": {"Driver": "default", "Options": network.ipam_options or None, "Config": ipam_config},
        "Internal": network.internal, "Attachable": network.attachable, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": containers,
        "Options": network.options, "Labels": network.labels,
    }


def endpoint_json(network, ep, container_name: str) -> dict:
    prefix = int(network.subnet.split("/")[1]) if network.subnet and ep.ip else 0
    dns_names = None
    if network.user_defined:
        dns_names = [container_name, ep.container_id[:12], *ep.aliases]
    return {"IPAMConfig": {"IPv4Address": ep.static_ip} if ep.static_ip else None, "Links": None,
            "Aliases": list(ep.aliases) or None, "MacAddress": ep.mac, "NetworkID": network.id,
            "EndpointID": ep.id if ep.ip else "", "Gateway": network.gateway if ep.ip else "",
            "IPAddress": ep.ip, "IPPrefixLen": prefix, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "DriverOpts": None, "DNSNames": dns_names}


def ports_json(container, view) -> dict:
    """NetworkSettings.Ports: published ports with their host side, exposed ones with null."""
    if not view.running:
        return {}
    out: dict = {key: None for key in container.config.exposed_ports or {}}
    for p in view.published:
        out.setdefault(p.key, None)
        out[p.key] = (out[p.key] or []) + [{"HostIp": p.host_ip, "HostPort": str(p.host_port)}]
    return out


def network_settings_json(container, view) -> dict:
    networks = {}
    top = {"EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""}
    for network, ep in view.endpoints:
        networks[network.name] = endpoint_json(network, ep, container.name)
        if network.name == "bridge":
            e = networks[network.name]
            top = {k: e[k] for k in top}
    return {
        "Bridge": "", "SandboxID": container.id if view.sandbox_key else "", "HairpinMode": False,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": ports_json(container, view),
        "SandboxKey": view.sandbox_key, "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPv6Gateway": "", **top,
        "Networks": networks,
    }


def summary_ports(container, view) -> list[dict]:
    """`Ports` of an entry of GET /containers/json."""
    out = []
    published = {p.key for p in view.published}
    for p in view.published:
        out.append({"IP": p.host_ip, "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.proto})
    for key in sorted(container.config.exposed_ports or {}):
        if key not in published:
            port, _, proto = key.partition("/")
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
    return out


# parsing
def parse_endpoint_settings(value) -> dict:
    """An EndpointSettings of NetworkingConfig or of a connect body → {"aliases", "ipv4"}."""
    if not isinstance(value, dict):
        return {}
    ipam_config = value.get("IPAMConfig") or {}
    if not isinstance(ipam_config, dict):
        raise InvalidArgument("json: cannot unmarshal into Go struct field EndpointSettings.IPAMConfig")
    if ipam_config.get("IPv6Address"):
        raise InvalidArgument("IPv6 addresses are not supported by hako yet")
    aliases = value.get("Aliases") or []
    if not isinstance(aliases, list):
        raise InvalidArgument("json: cannot unmarshal into Go struct field EndpointSettings.Aliases of type []string")
    return {"aliases": [str(a) for a in aliases], "ipv4": ipam_config.get("IPv4Address") or ""}


def parse_networking(body: dict) -> dict[str, dict]:
    config = (body or {}).get("NetworkingConfig") or {}
    endpoints = config.get("EndpointsConfig") or {} if isinstance(config, dict) else {}
    return {str(name): parse_endpoint_settings(value) for name, value in endpoints.items()}


def parse_port_bindings(value) -> dict[str, list]:
    from ..network.ports import parse_port

    if not value:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument("json: cannot unmarshal into Go struct field HostConfig.PortBindings of type nat.PortMap")
    out = {}
    for key, bindings in value.items():
        port, proto = parse_port(key)
        entries = []
        for b in bindings or [{}]:
            if not isinstance(b, dict):
                raise InvalidArgument("json: cannot unmarshal into Go struct field HostConfig.PortBindings of type nat.PortBinding")
            entries.append([str(b.get("HostIp") or ""), str(b.get("HostPort") or "")])
        out[f"{port}/{proto}"] = entries
    return out


# handlers
def _matches(network, filters: dict[str, list[str]], used: set[str]) -> bool:
    for key, values in filters.items():
        if key == "name" and not any(v in network.name for v in values):
            return False
        if key == "id" and not any(network.id.startswith(v) for v in values):
            return False
        if key == "driver" and network.driver not in values:
            return False
        if key == "scope" and "local" not in values:
            return False
        if key == "type":
            kind = "builtin" if network.predefined else "custom"
            if kind not in values:
                return False
        if key == "label" and not all(label_matches(network.labels, v) for v in values):
            return False
        if key == "dangling":
            dangling = values[0].lower() in ("1", "true")
            if dangling != (not network.predefined and network.id not in used):
                return False
    return True


_FILTERS = {"name", "id", "driver", "scope", "type", "label", "dangling"}


async def list_networks(request: web.Request) -> web.Response:
    engine = _engine(request)
    filters = query_filters(request, allowed=_FILTERS)
    used = {ep.network_id for eps in engine.networks.endpoints.values() for ep in eps}
    networks = [n for n in engine.networks.list() if _matches(n, filters, used)]
    return json_response([network_json(engine, n, with_containers=False) for n in networks])


async def inspect(request: web.Request) -> web.Response:
    engine = _engine(request)
    network = engine.networks.get(request.match_info["id"])
    return json_response(network_json(engine, network))


def _str_dict(value, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"json: cannot unmarshal into Go struct field {field} of type map[string]string")
    return {str(k): str(v) for k, v in value.items()}


async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidArgument("invalid JSON body")
    ipam = body.get("IPAM") or {}
    configs = ipam.get("Config") or []
    if ipam.get("Driver") not in (None, "", "default"):
        from ..errdefs import NotFound

        raise NotFound(f'plugin "{ipam["Driver"]}" not found')
    if len(configs) > 1:
        raise InvalidArgument("hako networks take one IPAM config (one IPv4 subnet)")
    config = configs[0] if configs else {}
    if config.get("AuxiliaryAddresses"):
        raise InvalidArgument("auxiliary addresses are not supported by hako yet")
    network = await _engine(request).networks.create_network_async(
        name=body.get("Name") or "", driver=body.get("Driver") or "bridge", subnet=config.get("Subnet") or "",
        gateway=config.get("Gateway") or "", ip_range=config.get("IPRange") or "",
        internal=bool(body.get("Internal")), attachable=bool(body.get("Attachable")),
        enable_ipv6=bool(body.get("EnableIPv6")), labels=_str_dict(body.get("Labels"), "Labels"),
        options=_str_dict(body.get("Options"), "Options"), ipam_options=_str_dict(ipam.get("Options"), "IPAM.Options"))
    return json_response({"Id": network.id, "Warning": ""}, status=201)


async def remove(request: web.Request) -> web.Response:
    await _engine(request).networks.remove_network(request.match_info["id"])
    return web.Response(status=204, headers=COMMON_HEADERS)


async def connect(request: web.Request) -> web.Response:
    engine = _engine(request)
    body = await json_body(request)
    network = engine.networks.get(request.match_info["id"])
    container = engine.containers.get(str(body.get("Container") or ""))
    settings = parse_endpoint_settings(body.get("EndpointConfig") or {})
    from ..engine.networks import connect as connect_container

    await connect_container(engine, network, container, settings["aliases"], settings["ipv4"])
    return web.Response(status=200, headers=COMMON_HEADERS)


async def disconnect(request: web.Request) -> web.Response:
    engine = _engine(request)
    body = await json_body(request)
    network = engine.networks.get(request.match_info["id"])
    container = engine.containers.get(str(body.get("Container") or ""))
    await engine.networks.disconnect(network, container, bool(body.get("Force")))
    return web.Response(status=200, headers=COMMON_HEADERS)


async def prune(request: web.Request) -> web.Response:
    filters = query_filters(request, allowed=("label", "label!", "until"))
    until = _until(filters.get("until"))

    def keep(network) -> bool:
        return not labels_match(network.labels, filters) or (until is not None and network.created >= until)

    removed = await _engine(request).networks.prune(keep)
    return json_response({"NetworksDeleted": removed or None})


def _until(values) -> float | None:
    """`until`: a Unix time or a Go duration ("24h", "10m30s") before now."""
    if not values:
        return None
    value = values[0]
    try:
        return float(value)
    except ValueError:
        pass
    import re

    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s|ms)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise InvalidArgument(f"invalid filter 'until={value}'")
    seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[u] for n, u in parts)
    return time.time() - seconds
