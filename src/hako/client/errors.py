"""The client's exceptions::

    ClientError                 anything that went wrong talking to the daemon
    ├── DaemonUnreachable       the socket could not be reached (daemon not running, bad path)
    ├── ProtocolError           the daemon's reply was not the HTTP we expected
    └── APIError                the daemon answered with a 4xx/5xx and a message
        └── NotFound            ... a 404: "No such container: x", "No such image: y"

`str(APIError)` is the daemon's message alone; the CLI adds "Error response from daemon: ".
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error raised by hako.client."""


class DaemonUnreachable(ClientError):
    """Connecting to the daemon failed; ``host_url`` names the address that was tried."""

    def __init__(self, host_url: str, cause: str = "") -> None:
        super().__init__(f"Cannot connect to the hako daemon at {host_url}. "
                         "Is the hako daemon running?")
        self.host_url = host_url
        self.cause = cause


class ProtocolError(ClientError):
    """The daemon sent something that is not valid HTTP or not the expected shape."""


class APIError(ClientError):
    """An error status from the daemon; ``status`` is the HTTP code, ``message`` its text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NotFound(APIError):
    """A 404 from the daemon."""


def api_error(status: int, message: str) -> APIError:
    """The right APIError subclass for a status."""
    return NotFound(status, message) if status == 404 else APIError(status, message)
