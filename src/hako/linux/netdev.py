"""Network interface flags through ioctl(2) (netdevice(7)), for the one link a runtime touches: `lo`."""

from __future__ import annotations

import fcntl
import socket
import struct

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH14x"   # struct ifreq: the name, then ifr_flags in the union


def set_up(name: str = "lo") -> None:
    """Bring ``name`` up in the calling process's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack(_IFREQ, name.encode(), 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(_IFREQ, name.encode(), flags | IFF_UP))
