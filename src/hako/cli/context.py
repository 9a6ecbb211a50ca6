"""`Cli`: what a command works with — its output streams, environment and API client.

Output goes straight to file descriptors (no `sys.stdout` buffering), because attach and exec
write container output to the same fds with `os.write`; mixing a buffered writer with raw writes
would reorder text. Tests pass pipes or temporary files as the fds.
"""

from __future__ import annotations

import os

PROG = "hako"


class Output:
    """A text writer on a file descriptor."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8", "surrogateescape"))

    def write_bytes(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def isatty(self) -> bool:
        return os.isatty(self.fd)


class Cli:
    """The state of one invocation. ``host`` is the address chosen by -H or the environment
    (see hako.client.hosts); the API client is created on first use."""

    def __init__(self, host: str | None = None, environ=None, stdin_fd: int = 0,
                 stdout_fd: int = 1, stderr_fd: int = 2) -> None:
        self.environ = os.environ if environ is None else environ
        self.host_flag = host
        self.stdin_fd = stdin_fd
        self.out = Output(stdout_fd)
        self.err = Output(stderr_fd)
        self._client = None

    @property
    def prog(self) -> str:
        return PROG

    @property
    def host(self) -> str:
        from hako.client.hosts import choose_host
        return choose_host(self.host_flag, self.environ)

    @property
    def client(self):
        if self._client is None:
            from hako.client.api import APIClient
            from hako.client.hosts import parse_host

            from .command import StatusError
            try:
                host = parse_host(self.host)
            except ValueError as exc:
                raise StatusError(1, str(exc)) from None
            version = self.environ.get("HAKO_API_VERSION") or self.environ.get("DOCKER_API_VERSION")
            self._client = APIClient(host, version or None)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
