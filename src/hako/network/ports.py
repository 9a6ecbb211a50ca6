"""Published ports: what a container asked for, and the host sockets that hold them.

Docker's HostConfig.PortBindings ({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}) arrives here
as {"80/tcp": [("", "8080")]}; `-P` adds every exposed port with a random host port. A host port
is held by the listening socket of the userland proxy (as docker-proxy holds it), so a port taken
by anyone, hako or not, is refused before anything else is set up.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from ..errdefs import InvalidArgument, SystemError


@dataclass(frozen=True)
class Request:
    container_port: int
    proto: str
    host_ip: str
    host_port: str          # "", "8080" or a range "8000-8010"


@dataclass(frozen=True)
class Published:
    container_port: int
    proto: str
    host_ip: str            # "0.0.0.0" for every address
    host_port: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


def parse_port(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp"):
        raise InvalidArgument(f"invalid proto: {proto}")
    try:
        number = int(port)
    except ValueError:
        raise InvalidArgument(f"invalid containerPort: {port}") from None
    if not 0 < number < 65536:
        raise InvalidArgument(f"invalid containerPort: {port}")
    return number, proto


def requests(bindings: dict[str, list], publish_all: bool, exposed: list[str]) -> list[Request]:
    out = []
    for key, hosts in bindings.items():
        port, proto = parse_port(key)
        for host_ip, host_port in hosts or [("", "")]:
            out.append(Request(port, proto, host_ip or "", host_port or ""))
    if publish_all:
        bound = {(r.container_port, r.proto) for r in out}
        for key in exposed:
            port, proto = parse_port(key)
            if (port, proto) not in bound:
                out.append(Request(port, proto, "", ""))
    return out


def _candidates(host_port: str) -> list[int]:
    if not host_port:
        return [0]
    low, _, high = host_port.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise InvalidArgument(f"invalid hostPort: {host_port}") from None
    if not (0 <= first <= last < 65536):
        raise InvalidArgument(f"invalid hostPort: {host_port}")
    return list(range(first, last + 1))


def bind(request: Request, ours: set[tuple[str, str, int]], endpoint: str) -> tuple[socket.socket, Published]:
    """A socket bound to the host port ``request`` asks for; ``ours`` holds the ports hako's
    containers have (Docker's message differs for those)."""
    host_ip = request.host_ip or "0.0.0.0"
    kind = socket.SOCK_STREAM if request.proto == "tcp" else socket.SOCK_DGRAM
    candidates = _candidates(request.host_port)
    last_error = None
    for port in candidates:
        if port and ((request.proto, host_ip, port) in ours or (request.proto, "0.0.0.0", port) in ours):
            last_error = f"Bind for {host_ip}:{port} failed: port is already allocated"
            continue
        sock = socket.socket(socket.AF_INET, kind)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setblocking(False)
            sock.bind((host_ip, port))
            if kind == socket.SOCK_STREAM:
                sock.listen(512)
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                last_error = (f"Error starting userland proxy: listen {request.proto}4 {host_ip}:{port}: "
                              "bind: address already in use")
                continue
            if exc.errno == errno.EADDRNOTAVAIL:
                last_error = (f"Error starting userland proxy: listen {request.proto}4 {host_ip}:{port}: "
                              "bind: cannot assign requested address")
                continue
            raise
        return sock, Published(request.container_port, request.proto, host_ip, sock.getsockname()[1])
    raise SystemError(f"driver failed programming external connectivity on endpoint {endpoint}: {last_error}")
