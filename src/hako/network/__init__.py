"""Container networks: bridge, host, none and user-defined bridge networks.

    manager.py   NetworkManager: networks, endpoints, attach/detach at start/exit, restore
    model.py     Network and Endpoint records
    ipam.py      subnets from pools that clash with nothing, addresses that are not reused soon
    sandbox.py   a container's network namespace as a file under the exec root
    links.py     bridge and veth pairs through netlink (pyroute2), never a subprocess
    nat.py       the NAT rules for published ports and masquerade, one nftables table per daemon
    proxy.py     the userland proxy that serves published ports on loopback, as docker-proxy does
    dns.py       the embedded DNS server at 127.0.0.11 inside containers on user-defined networks
    ports.py     parsing and allocating published ports

Nothing here forks: hakod is threaded (DESIGN decision 1). Work inside a network namespace runs in
a dedicated thread that joined it (setns affects the calling thread only).
"""
