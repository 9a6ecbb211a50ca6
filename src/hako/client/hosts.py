"""Where the daemon listens: choosing and parsing the host address.

The choice follows docker's, with hako's own variable first::

    -H/--host  >  $HAKO_HOST  >  $DOCKER_HOST  >  unix:///run/hako/hako.sock

Addresses are URLs: ``unix:///path/to.sock`` or ``tcp://host:port`` (``http://`` is taken as
plain TCP; TLS is not spoken by this client). ``tcp://host`` without a port means 2375, and a bare ``host[:port]`` means tcp, as in docker.
"""

from __future__ import annotations

DEFAULT_SOCKET = "/run/hako/hako.sock"
DEFAULT_HOST = "unix://" + DEFAULT_SOCKET
DEFAULT_TCP_PORT = 2375


class Host:
    """A parsed daemon address: ``scheme`` is "unix" or "tcp"; ``address`` is the socket path for
    unix and a ``(host, port)`` pair for tcp; ``url`` is the normalised form for messages."""

    __slots__ = ("scheme", "address", "url")

    def __init__(self, scheme: str, address, url: str) -> None:
        self.scheme = scheme
        self.address = address
        self.url = url

    def __repr__(self) -> str:
        return f"Host({self.url!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Host) and (self.scheme, self.address) == (other.scheme, other.address)


def choose_host(flag_value: str | None, environ) -> str:
    """The address to use, before parsing: the first of the flag and the two variables that is
    set and non-empty, else the default socket."""
    for candidate in (flag_value, environ.get("HAKO_HOST"), environ.get("DOCKER_HOST")):
        if candidate:
            return candidate
    return DEFAULT_HOST


def parse_host(value: str) -> Host:
    """Parse ``unix://…``/``tcp://…``; raise ValueError with docker's wording for anything else."""
    value = value.strip()
    scheme, sep, rest = value.partition("://")
    if not sep:  # docker reads a bare "host[:port]" as tcp
        scheme, rest = "tcp", value
    if not rest and scheme != "unix":
        raise ValueError(f"Invalid bind address format: {value}")
    scheme = scheme.lower()
    if scheme == "unix":
        path = rest or DEFAULT_SOCKET
        return Host("unix", path, "unix://" + path)
    if scheme in ("tcp", "http"):
        hostport = rest.split("/", 1)[0]
        if not hostport:
            raise ValueError(f"Invalid bind address format: {value}")
        host, port = _split_host_port(hostport, value)
        return Host("tcp", (host, port), f"tcp://{_join_host_port(host, port)}")
    raise ValueError(f"Invalid bind address format: {value}")


def _split_host_port(hostport: str, original: str) -> tuple[str, int]:
    if hostport.startswith("["):  # [::1]:2375
        host, _, tail = hostport[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    elif hostport.count(":") == 1:
        host, port_text = hostport.split(":")
    else:
        host, port_text = hostport, ""
    if not port_text:
        return host or "127.0.0.1", DEFAULT_TCP_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"Invalid bind address format: {original}")
    return host or "127.0.0.1", int(port_text)


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
