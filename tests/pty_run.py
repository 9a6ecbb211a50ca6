"""Running a program on a pseudo-terminal of a given width, as a user's terminal would."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios


def run_in_pty(argv: list[str], env: dict, width: int = 150) -> tuple[int, str]:
    """Run ``argv`` on a pty ``width`` columns wide; its exit status and output (with the pty's
    \\r\\n turned back into \\n)."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:          # EIO: the child is gone and the pty closed
            break
        if not chunk:
            break
        data += chunk
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), data.replace(b"\r\n", b"\n").decode()
