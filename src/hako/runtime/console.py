"""Terminals for container processes: a pty made inside the container, its master sent out.

The console-socket protocol is runc's: the runtime connects to the unix socket named by
``--console-socket`` and sends one message whose SCM_RIGHTS payload is the pty master.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios


def open_pty(height: int = 0, width: int = 0) -> tuple[int, int]:
    """A new pty from the devpts instance mounted at /dev/pts (call after pivot_root)."""
    master, slave = os.openpty()
    if height and width:
        set_size(master, height, width)
    return master, slave


def set_size(fd: int, height: int, width: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def get_size(fd: int) -> tuple[int, int] | None:
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return rows, cols


def make_controlling(slave: int) -> None:
    """Start a session with ``slave`` as its controlling terminal and as stdio."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def connect(path: str) -> socket.socket:
    """Connect to a --console-socket on the host side: the container process makes its pty after
    pivot_root or setns into the container's mounts, where the socket's path is out of reach."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError as exc:
        conn.close()
        raise OSError(exc.errno, f"--console-socket {path}: {exc.strerror}") from None
    return conn


def receive_master(listener: socket.socket) -> int:
    conn, _ = listener.accept()
    with conn:
        _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    if not fds:
        raise OSError("console socket: no file descriptor received")
    return fds[0]
