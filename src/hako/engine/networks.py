"""The engine's side of networks: what needs both a container's files and the network manager."""

from __future__ import annotations

from . import etcfiles


async def connect(engine, network, container, aliases: list[str], ipv4: str) -> None:
    """`docker network connect`. A running container that gets its first user-defined network
    now asks the embedded DNS server, as Docker rebuilds resolv.conf then."""
    running = container.state.status in ("running", "paused")
    dns_started = await engine.networks.connect(network, container, aliases, ipv4, running)
    if dns_started and container.resolv_conf_path:
        hc = container.host_config
        text = etcfiles.resolv_conf(etcfiles._read("/etc/resolv.conf"), hc.dns, hc.dns_search, hc.dns_options,
                                    True, False)
        # In place, not by rename: the file is bind-mounted into the running container.
        with open(container.resolv_conf_path, "w") as f:
            f.write(text)
