"""NetworkManager: networks, the endpoints of containers on them, and their life with the container.

    manager = NetworkManager(store, config, events)
    await manager.start()                      # load; predefined networks; the default bridge
    plan = manager.plan_endpoints(container, requested)   # at create: validate, nothing changes
    manager.add_endpoints(plan)                # once the container's record exists
    attached = await manager.attach(container) # at start: netns, veths, DNS, published ports
    await manager.detach(container)            # at exit (also one noticed after a restart)
    manager.remove_endpoints(container.id)     # at rm
    await manager.reopen(running)              # after live restore: DNS servers, proxies, NAT

Addresses are allocated at attach and released at detach, as Docker does; a network with running
containers cannot be removed. Everything made for a container (netns file, veth pairs, DNS
sockets, proxies, NAT rules) is undone by detach, and whatever a crashed hakod left is removed by
start() and reopen().
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import secrets
import uuid
from dataclasses import dataclass, field

from ..errdefs import Conflict, Forbidden, InvalidArgument, NotFound
from . import dns, ipam, links, nat, ports, sandbox
from .model import BRIDGE, HOST, NULL, PREDEFINED, Endpoint, Network
from .proxy import TCPProxy, UDPProxy
from .records import Records

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
DEFAULT_BRIDGE_OPTIONS = ("com.docker.network.bridge.default_bridge", "com.docker.network.bridge.enable_icc",
                          "com.docker.network.bridge.enable_ip_masquerade",
                          "com.docker.network.bridge.host_binding_ipv4", "com.docker.network.bridge.name",
                          "com.docker.network.driver.mtu")


@dataclass
class Attached:
    """What the container's start needs from its network: the netns to join and the lines of
    its /etc/hosts and resolv.conf."""
    netns_path: str | None
    addresses: list[str] = field(default_factory=list)
    embedded_dns: bool = False


@dataclass
class ContainerNetworks:
    sandbox_key: str
    endpoints: list[tuple[Network, Endpoint]]
    published: list[ports.Published]
    running: bool


@dataclass
class _Active:
    """What lives while a container runs: the things closed at detach."""
    netns_path: str | None = None
    dns_server: dns.Server | None = None
    proxies: list = field(default_factory=list)
    published: list[ports.Published] = field(default_factory=list)


class NetworkManager:
    def __init__(self, store, config, events=None, container_name=None):
        self.records = Records(store)
        self.config = config
        self.events = events
        self.container_name = container_name or (lambda cid: cid[:12])
        self.netns_dir = os.path.join(config.exec_root, "netns")
        self.bridge_name = config.network_bridge
        self.nft_table = "hako" if self.bridge_name == "hako0" else "hako_" + self.bridge_name.replace("-", "_")
        self.nft = nat.Nftables()
        self.networks: dict[str, Network] = {}
        self.endpoints: dict[str, list[Endpoint]] = {}    # container id → its endpoints, primary first
        self.active: dict[str, _Active] = {}
        self.running: set[str] = set()

    # start-up
    async def start(self) -> None:
        os.makedirs(self.netns_dir, mode=0o711, exist_ok=True)
        for network in self.records.networks():
            self.networks[network.id] = network
        for ep in self.records.endpoints():
            self.endpoints.setdefault(ep.container_id, []).append(ep)
        if not any(n.name == "bridge" for n in self.networks.values()):
            self._create_default_bridge()
        for name, driver in (("host", HOST), ("none", NULL)):
            if not any(n.name == name for n in self.networks.values()):
                self._save(Network(id=uuid.uuid4().hex + uuid.uuid4().hex, name=name, driver=driver))
        await asyncio.to_thread(self._ensure_bridges)
        _enable_forwarding()

    def _create_default_bridge(self) -> None:
        if self.config.bip:
            iface = ipaddress.ip_interface(self.config.bip)
            subnet, gateway = iface.network, str(iface.ip)
        else:
            subnet = ipam.choose_subnet(self.config.default_address_pools, self._used_subnets())
            gateway = str(subnet.network_address + 1)
        options = dict(zip(DEFAULT_BRIDGE_OPTIONS, ("true", "true", "true", "0.0.0.0", self.bridge_name, "1500")))
        self._save(Network(id=uuid.uuid4().hex + uuid.uuid4().hex, name="bridge", subnet=str(subnet),
                           gateway=gateway, bridge=self.bridge_name, options=options))

    def _ensure_bridges(self) -> None:
        for network in self.networks.values():
            if network.driver == BRIDGE:
                links.ensure_bridge(network.bridge, network.gateway, ipaddress.ip_network(network.subnet).prefixlen)

    def _used_subnets(self) -> list:
        used = [r for r in ipam.host_routes()]
        used += [ipaddress.ip_network(n.subnet) for n in self.networks.values() if n.subnet]
        return used

    def _save(self, network: Network) -> None:
        self.records.save_network(network)
        self.networks[network.id] = network

    async def reopen(self, running: list) -> None:
        """After live restore: serve DNS and published ports again for the containers that still
        run, rebuild the NAT table, and remove what belongs to no running container."""
        self.running = {c.id for c in running}
        for container in running:
            eps = [ep for ep in self.endpoints.get(container.id, []) if ep.ip]
            if not eps or container.id in self.active:    # started afresh during restore
                continue
            try:
                await self._reopen_one(container, eps)
            except Exception as exc:  # noqa: BLE001 - one container's trouble must not stop hakod
                log.warning("container %s: restoring its network: %s", container.id[:12], exc)
        keep = {a.netns_path for a in self.active.values() if a.netns_path}
        for name in os.listdir(self.netns_dir):
            path = os.path.join(self.netns_dir, name)
            if path not in keep:
                log.info("removing the leftover network namespace %s", name)
                await asyncio.to_thread(sandbox.destroy, path)
        await asyncio.to_thread(self._remove_stray_veths)
        await self._apply_nat()

    async def _reopen_one(self, container, eps: list[Endpoint]) -> None:
        path = self._netns_path(container.id)
        active = self.active[container.id] = _Active(netns_path=path)
        if any(self.networks[ep.network_id].user_defined for ep in eps if ep.network_id in self.networks):
            sockets = await sandbox.in_thread(_dns_sockets_in, path)
            await self._serve_dns(container, active, sockets)
        await self._publish(container, eps[0], active)

    def _remove_stray_veths(self) -> None:
        ours = {ep.veth for eps in self.endpoints.values() for ep in eps if ep.veth and ep.container_id in self.active}
        for network in list(self.networks.values()):
            if network.driver != BRIDGE:
                continue
            for name in links.bridge_ports(network.bridge):
                if name not in ours:
                    log.info("removing the leftover veth %s", name)
                    links.delete_link(name)

    async def shutdown(self) -> None:
        for active in self.active.values():
            self._close(active)

    # networks
    def get(self, ref: str) -> Network:
        for network in self.networks.values():
            if network.id == ref or network.name == ref:
                return network
        matches = [n for n in self.networks.values() if ref and n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise NotFound(f"network {ref} is ambiguous ({len(matches)} matches found based on ID prefix)")
        raise NotFound(f"network {ref} not found")

    def list(self) -> list[Network]:
        return sorted(self.networks.values(), key=lambda n: n.created)

    def create_network(self, name: str, driver: str = BRIDGE, subnet: str = "", gateway: str = "",
                       ip_range: str = "", internal: bool = False, attachable: bool = False,
                       enable_ipv6: bool = False, labels: dict | None = None, options: dict | None = None,
                       ipam_options: dict | None = None) -> Network:
        if not name or not _NAME.match(name):
            raise InvalidArgument(f'invalid name "{name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
        if name in PREDEFINED:
            raise Forbidden(f"{name} is a pre-defined network and cannot be created")
        if any(n.name == name for n in self.networks.values()):
            raise Conflict(f"network with name {name} already exists")
        driver = driver or BRIDGE
        if driver in (HOST, NULL):
            raise Forbidden(f'only one instance of "{driver}" network is allowed')
        if driver != BRIDGE:
            raise NotFound(f'plugin "{driver}" not found')
        if enable_ipv6:
            raise InvalidArgument("IPv6 networks are not supported by hako yet")
        used = self._used_subnets()
        if subnet:
            net = ipam.parse_subnet(subnet)
            if net.version != 4:
                raise InvalidArgument("IPv6 subnets are not supported by hako yet")
            ipam.check_free(net, used)
        else:
            if gateway or ip_range:
                raise InvalidArgument("the gateway or the ip range needs a subnet")
            net = ipam.choose_subnet(self.config.default_address_pools, used)
        gateway = ipam.check_gateway(net, gateway) if gateway else str(net.network_address + 1)
        if ip_range:
            ip_range = ipam.check_ip_range(net, ip_range)
        network_id = secrets.token_hex(32)
        bridge = (options or {}).get("com.docker.network.bridge.name") or "br-" + network_id[:12]
        if len(bridge) > 15:
            raise InvalidArgument(f"bridge name {bridge} is longer than 15 characters")
        network = Network(id=network_id, name=name, driver=BRIDGE, subnet=str(net), gateway=gateway,
                          ip_range=ip_range, bridge=bridge, internal=internal, attachable=attachable,
                          labels=dict(labels or {}), options=dict(options or {}),
                          ipam_options=dict(ipam_options or {}), user_ipam=bool(subnet))
        links.ensure_bridge(bridge, gateway, net.prefixlen)
        try:
            self._save(network)
        except BaseException:
            links.delete_link(bridge)
            raise
        self._event(network, "create")
        return network

    async def create_network_async(self, **kwargs) -> Network:
        network = await asyncio.to_thread(self.create_network, **kwargs)
        await self._apply_nat()
        return network

    def in_use(self, network: Network) -> list[str]:
        """Ids of running containers on ``network``."""
        return [cid for cid, eps in self.endpoints.items()
                if cid in self.active and any(ep.network_id == network.id and ep.ip for ep in eps)]

    async def remove_network(self, ref: str) -> None:
        network = self.get(ref)
        if network.predefined:
            raise Forbidden(f"{network.name} is a pre-defined network and cannot be removed")
        users = self.in_use(network)
        if users:
            names = ", ".join(f'name:"{self.container_name(c)}" id:"{c[:12]}"' for c in users)
            raise Forbidden(f"error while removing network: network {network.name} has active endpoints ({names})")
        self.records.delete_network(network.id)
        del self.networks[network.id]
        await asyncio.to_thread(links.delete_link, network.bridge)
        await self._apply_nat()
        self._event(network, "destroy")

    async def prune(self, keep) -> list[str]:
        """Remove the user-defined networks no container uses (``keep(network)`` spares some)."""
        used = {ep.network_id for eps in self.endpoints.values() for ep in eps}
        removed = []
        for network in self.list():
            if network.predefined or network.id in used or keep(network):
                continue
            await self.remove_network(network.id)
            removed.append(network.name)
        return removed

    def _event(self, network: Network, action: str, **extra) -> None:
        if self.events is not None:
            self.events.emit("network", action, network.id, name=network.name, type=network.driver, **extra)

    # endpoints at create and rm
    def plan_endpoints(self, container, requested: dict[str, dict]) -> list[Endpoint]:
        """The endpoints ``container`` will have: its network mode's network first, then any other
        network of ``requested`` ({network: {"aliases": [...], "ipv4": "…"}}). Raises on bad input."""
        mode = container.host_config.network_mode or "default"
        if mode in ("host", "none") or mode.startswith("container:"):
            if mode in ("host", "none") and any(k not in (mode, "default") for k in requested):
                raise InvalidArgument("conflicting options: host and none network modes cannot be combined with other networks")
            return []
        primary = self.get("bridge" if mode == "default" else mode)
        if primary.driver != BRIDGE:
            raise InvalidArgument(f"container cannot be attached to the {primary.name} network this way")
        container.host_config.network_mode = "default" if mode == "default" else primary.name
        plan = [self._endpoint(container.id, primary, requested.get(mode) or requested.get(primary.name)
                               or requested.get(primary.id) or {})]
        for ref, settings in requested.items():
            if ref in (mode, "default"):
                continue
            network = self.get(ref)
            if network.id == primary.id or network.driver != BRIDGE:
                continue
            plan.append(self._endpoint(container.id, network, settings))
        return plan

    def _endpoint(self, cid: str, network: Network, settings: dict) -> Endpoint:
        aliases = [a for a in settings.get("aliases") or [] if a]
        static_ip = settings.get("ipv4") or ""
        if not network.user_defined:
            if static_ip:
                raise InvalidArgument("user specified IP address is supported on user defined networks only")
            if aliases:
                raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
        if static_ip:
            if not network.user_ipam:
                raise InvalidArgument("user specified IP address is supported only when connecting to networks with user configured subnets")
            static_ip = ipam.check_static(network.subnet, static_ip)
        return Endpoint(container_id=cid, network_id=network.id, id=secrets.token_hex(32),
                        aliases=aliases, static_ip=static_ip)

    def add_endpoints(self, plan: list[Endpoint]) -> None:
        if not plan:
            return
        self.records.save_endpoints(plan)
        for ep in plan:
            self.endpoints.setdefault(ep.container_id, []).append(ep)

    def remove_endpoints(self, container_id: str) -> None:
        if self.endpoints.pop(container_id, None) is not None:
            self.records.delete_endpoints(container_id)

    def endpoints_of(self, container_id: str) -> list[tuple[Network, Endpoint]]:
        return [(self.networks[ep.network_id], ep) for ep in self.endpoints.get(container_id, [])
                if ep.network_id in self.networks]

    def view(self, container) -> "ContainerNetworks":
        """What inspect shows of ``container``'s networks."""
        mode = container.host_config.network_mode or "default"
        if mode in ("host", "none"):
            network = self.get(mode)
            return ContainerNetworks("", [(network, Endpoint(container.id, network.id))], [], False)
        active = self.active.get(container.id)
        return ContainerNetworks(active.netns_path if active and active.netns_path else "",
                                 self.endpoints_of(container.id), self.published(container.id), active is not None)

    def netns_path_of(self, container_id: str) -> str | None:
        active = self.active.get(container_id)
        return active.netns_path if active else None

    def _netns_path(self, cid: str) -> str:
        return os.path.join(self.netns_dir, cid[:12])

    # start and exit
    async def attach(self, container) -> Attached:
        """Give a starting container its network; on failure nothing is left."""
        mode = container.host_config.network_mode or "default"
        if mode == "host":
            return Attached(None)
        eps = self.endpoints.get(container.id, [])
        if mode == "none" or mode.startswith("container:") or not eps:
            return Attached(None)
        for ep in eps:
            if ep.network_id not in self.networks:
                raise NotFound(f"network {ep.network_id} not found")
        path = self._netns_path(container.id)
        active = _Active(netns_path=path)
        plugged: list[Endpoint] = []
        try:
            plan = [self._allocate(ep, i, gateway_route=(i == 0)) for i, ep in enumerate(eps)]
            plugged = eps
            embedded = any(self.networks[ep.network_id].user_defined for ep in eps)
            # The host ports first: a port someone holds fails the start before anything is made.
            sockets = self._bind_ports(container, eps[0], active)
            if os.path.lexists(path):
                await asyncio.to_thread(sandbox.destroy, path)
            dns_sockets = await sandbox.in_thread(links.setup, path, True, plan, embedded)
            self.active[container.id] = active
            self.records.save_endpoints(eps)
            if embedded:
                await self._serve_dns(container, active, dns_sockets)
            await self._start_proxies(eps[0], active, sockets)
            if active.published:
                await self._apply_nat()
        except BaseException:
            await self._undo(container.id, active, plugged)
            raise
        return Attached(path, [ep.ip for ep in eps], embedded)

    def _allocate(self, ep: Endpoint, index: int, gateway_route: bool) -> links.Link:
        network = self.networks[ep.network_id]
        taken = {e.ip for eps in self.endpoints.values() for e in eps if e.network_id == network.id and e.ip}
        taken |= {e.static_ip for eps in self.endpoints.values() for e in eps
                  if e.network_id == network.id and e.static_ip and e is not ep}
        ep.ip = ipam.allocate(network.subnet, network.gateway, network.ip_range, network.last_address, taken, ep.static_ip)
        if not ep.static_ip:
            network.last_address = ep.ip
            self.records.save_network(network)
        ep.mac = links.mac_for(ep.ip)
        ep.veth = "veth" + secrets.token_hex(4)[:7]
        ep.ifname = f"eth{index}"
        return links.Link(veth=ep.veth, ifname=ep.ifname, bridge=network.bridge, ip=ep.ip,
                          prefixlen=ipaddress.ip_network(network.subnet).prefixlen, mac=ep.mac,
                          gateway=network.gateway if gateway_route and not network.internal else "")

    async def detach(self, container) -> None:
        """Undo attach (the container has exited, or never started)."""
        eps = self.endpoints.get(container.id, [])
        active = self.active.pop(container.id, None)
        if active is None and not any(ep.ip for ep in eps):
            if os.path.lexists(self._netns_path(container.id)):
                await asyncio.to_thread(sandbox.destroy, self._netns_path(container.id))
            return
        await self._undo(container.id, active or _Active(netns_path=self._netns_path(container.id)), eps)

    async def _undo(self, cid: str, active: _Active, eps: list[Endpoint]) -> None:
        self.active.pop(cid, None)
        had_ports = bool(active.published)
        self._close(active)
        veths = [ep.veth for ep in eps if ep.veth]
        path = active.netns_path

        def remove_links():
            # Unmounting the namespace alone would do in the end (the kernel drops the veth pairs
            # with it once its last process is gone), but asynchronously; deleting them here costs
            # an RCU grace period each (~10-30 ms) and means they are gone when the exit is told.
            for veth in veths:
                links.delete_link(veth)
            if path:
                sandbox.destroy(path)

        await asyncio.to_thread(remove_links)
        for ep in eps:
            ep.ip = ep.mac = ep.veth = ep.ifname = ""
            ep.ports = []
        if eps:
            self.records.save_endpoints([ep for ep in eps if ep.container_id in self.endpoints])
        if had_ports:
            await self._apply_nat()

    def _close(self, active: _Active) -> None:
        if active.dns_server is not None:
            active.dns_server.close()
            active.dns_server = None
        for proxy in active.proxies:
            proxy.close()
        active.proxies = []

    # DNS
    async def _serve_dns(self, container, active: _Active, sockets) -> None:
        """Names of hako's containers answered here; others go to --dns servers, or the host's."""
        udp, tcp = sockets
        cid = container.id
        upstreams = list(container.host_config.dns) or dns.host_nameservers()
        server = dns.Server(lambda name: self.resolve(cid, name), upstreams)
        active.dns_server = server
        await server.start(udp, tcp)

    def resolve(self, cid: str, name: str) -> list[str] | None:
        """Addresses of ``name`` for container ``cid``: containers on the user-defined networks it
        is on, by name, alias or short id; None for a name that is not hako's."""
        mine = {ep.network_id for ep in self.endpoints.get(cid, []) if ep.ip}
        found = []
        for other, eps in self.endpoints.items():
            for ep in eps:
                network = self.networks.get(ep.network_id)
                if ep.network_id not in mine or not ep.ip or network is None or not network.user_defined:
                    continue
                names = {self.container_name(other).lower(), other[:12]} | {a.lower() for a in ep.aliases}
                if name in names:
                    found.append(ep.ip)
        return found or None

    # published ports
    def _bind_ports(self, container, ep: Endpoint, active: _Active, again: bool = False) -> list:
        """Sockets holding the host ports ``container`` publishes; ``again`` (after a restart of
        hakod) takes the very ports it had."""
        hc = container.host_config
        if again:
            wanted = [ports.Request(p[0], p[1], p[2], str(p[3])) for p in ep.ports]
        else:
            wanted = ports.requests(hc.port_bindings, hc.publish_all_ports, sorted(container.config.exposed_ports or {}))
        ours = {(p.proto, p.host_ip, p.host_port) for a in self.active.values() for p in a.published}
        sockets = []
        try:
            for request in wanted:
                sock, published = ports.bind(request, ours, f"{container.name} ({ep.id})")
                sockets.append((sock, published))
                active.published.append(published)
        except BaseException:
            for sock, _ in sockets:
                sock.close()
            active.published = []
            raise
        ep.ports = [[p.container_port, p.proto, p.host_ip, p.host_port] for p in active.published]
        return sockets

    async def _start_proxies(self, ep: Endpoint, active: _Active, sockets) -> None:
        for sock, published in sockets:
            proxy_class = TCPProxy if published.proto == "tcp" else UDPProxy
            proxy = proxy_class((ep.ip, published.container_port))
            active.proxies.append(proxy)
            await proxy.start(sock)

    async def _publish(self, container, ep: Endpoint, active: _Active) -> None:
        sockets = self._bind_ports(container, ep, active, again=True)
        await self._start_proxies(ep, active, sockets)

    def published(self, container_id: str) -> list[ports.Published]:
        active = self.active.get(container_id)
        return list(active.published) if active else []

    async def _apply_nat(self) -> None:
        bridges = [nat.BridgeRule(n.bridge, n.subnet, n.internal) for n in self.networks.values() if n.driver == BRIDGE]
        rules = []
        for cid, active in self.active.items():
            eps = self.endpoints.get(cid) or []
            if not eps or not eps[0].ip:
                continue
            bridge = self.networks[eps[0].network_id].bridge
            for p in active.published:
                rules.append(nat.PortRule(p.proto, p.host_ip, p.host_port, eps[0].ip, p.container_port, bridge))
        script = nat.render(self.nft_table, bridges, rules)
        await asyncio.to_thread(self.nft.run, script)

    async def remove_nat(self) -> None:
        await asyncio.to_thread(self.nft.run, nat.delete_script(self.nft_table))

    # connect and disconnect
    async def connect(self, network: Network, container, aliases: list[str], ipv4: str, running: bool) -> bool:
        """Attach ``container`` to ``network`` (at once when it runs). True when this started the
        container's embedded DNS server (its resolv.conf must then point at it)."""
        mode = container.host_config.network_mode or "default"
        if mode == "host" or network.driver == HOST:
            raise Forbidden("container cannot be disconnected from host network or connected to host network")
        if mode == "none" or network.driver == NULL or mode.startswith("container:"):
            raise Forbidden("container cannot be connected to multiple networks with one of the networks in private (none) mode")
        eps = self.endpoints.setdefault(container.id, [])
        if any(ep.network_id == network.id for ep in eps):
            raise Forbidden(f"endpoint with name {container.name} already exists in network {network.name}")
        ep = self._endpoint(container.id, network, {"aliases": aliases, "ipv4": ipv4})
        if running and container.id in self.active:
            active = self.active[container.id]
            link = self._allocate(ep, _next_index(eps), gateway_route=False)
            try:
                await sandbox.in_thread(links.setup, active.netns_path, False, [link], False)
            except BaseException:
                ep.ip = ep.mac = ep.veth = ep.ifname = ""
                raise
        eps.append(ep)
        self.records.save_endpoints([ep])
        self._event(network, "connect", container=container.id)
        if ep.ip and network.user_defined and self.active[container.id].dns_server is None:
            active = self.active[container.id]
            sockets = await sandbox.in_thread(_dns_sockets_in, active.netns_path)
            await self._serve_dns(container, active, sockets)
            return True
        return False

    async def disconnect(self, network: Network, container, force: bool) -> None:
        eps = self.endpoints.get(container.id, [])
        ep = next((e for e in eps if e.network_id == network.id), None)
        if ep is None:
            raise Forbidden(f"container {container.id} is not connected to network {network.name}")
        if ep.veth:
            await asyncio.to_thread(links.delete_link, ep.veth)
        eps.remove(ep)
        self.records.delete_endpoint(container.id, network.id)
        self._event(network, "disconnect", container=container.id)


def _next_index(eps: list[Endpoint]) -> int:
    used = {int(ep.ifname[3:]) for ep in eps if ep.ifname.startswith("eth") and ep.ifname[3:].isdigit()}
    index = 0
    while index in used:
        index += 1
    return index


def _dns_sockets_in(path: str):
    sandbox.enter(path)
    return links.dns_sockets()


def _enable_forwarding() -> None:
    """The bridge driver routes between its bridges and the host's links (Docker sets it too)."""
    try:
        with open("/proc/sys/net/ipv4/ip_forward", "r+") as f:
            if f.read().strip() != "1":
                f.seek(0)
                f.write("1")
    except OSError as exc:
        log.warning("cannot enable IPv4 forwarding: %s", exc)
