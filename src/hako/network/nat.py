"""NAT for hako's networks in one nftables table per daemon, rewritten whole on every change.

    table ip <name> {
      prerouting   published ports reached from outside: DNAT to the container
      output       published ports reached from the host itself on a non-loopback address
      postrouting  masquerade what leaves a (non-internal) network for the outside
      forward      internal networks talk only among themselves
    }

Loopback (127.0.0.1) is not NATed: the userland proxy listens there (proxy.py), as docker-proxy
does. The table is applied through libnftables in-process (ctypes), so nothing forks; a hakod that
crashed left a table that the next one replaces at start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from dataclasses import dataclass

from ..errdefs import SystemError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PortRule:
    proto: str          # tcp, udp
    host_ip: str        # "" or "0.0.0.0": every local address
    host_port: int
    container_ip: str
    container_port: int
    bridge: str         # the container's bridge: traffic from it goes through the proxy


@dataclass(frozen=True)
class BridgeRule:
    bridge: str
    subnet: str
    internal: bool


def render(table: str, bridges: list[BridgeRule], ports: list[PortRule]) -> str:
    """The nft script that replaces ``table`` with these rules (a pure function)."""
    lines = [f"table ip {table} {{}}", f"delete table ip {table}", f"table ip {table} {{",
             "  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;",
             "    fib daddr type local jump published", "  }",
             "  chain output {", "    type nat hook output priority -100; policy accept;",
             "    ip daddr != 127.0.0.0/8 fib daddr type local jump published", "  }",
             "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;"]
    for b in bridges:
        if not b.internal:
            lines.append(f'    ip saddr {b.subnet} oifname != "{b.bridge}" masquerade')
    lines.append("  }")
    lines += ["  chain forward {", "    type filter hook forward priority 0; policy accept;"]
    for b in bridges:
        if b.internal:
            lines.append(f'    iifname "{b.bridge}" oifname != "{b.bridge}" drop')
            lines.append(f'    oifname "{b.bridge}" iifname != "{b.bridge}" drop')
    lines.append("  }")
    lines.append("  chain published {")
    for p in ports:
        match = f"ip daddr {p.host_ip} " if p.host_ip not in ("", "0.0.0.0") else ""
        lines.append(f'    iifname != "{p.bridge}" {match}{p.proto} dport {p.host_port} '
                     f"dnat to {p.container_ip}:{p.container_port}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def delete_script(table: str) -> str:
    return f"table ip {table} {{}}\ndelete table ip {table}\n"


class Nftables:
    """libnftables (the library behind nft(8)) through ctypes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ctx = None

    def _context(self):
        if self._ctx is None:
            name = ctypes.util.find_library("nftables") or "libnftables.so.1"
            lib = ctypes.CDLL(name, use_errno=True)
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
            ctx = lib.nft_ctx_new(0)
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            self._lib, self._ctx = lib, ctx
        return self._lib, self._ctx

    def run(self, script: str) -> None:
        with self._lock:
            lib, ctx = self._context()
            if lib.nft_run_cmd_from_buffer(ctx, script.encode()) != 0:
                message = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace").strip()
                raise SystemError(f"nftables refused the rules: {message}")
