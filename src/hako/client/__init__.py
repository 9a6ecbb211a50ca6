"""A small client for the Docker Engine API, as served by hakod (or dockerd).

It is written for the CLI's start-up budget: nothing here imports more than the C parts of the
standard library (`_socket`, `_json`, `select`), so `hako run --rm busybox true` pays for Python's
own start and little else. The pieces, bottom up:

- `hosts`     where the daemon listens: `-H`, `HAKO_HOST`, `DOCKER_HOST`, the default socket.
- `jsoncodec` JSON through CPython's C accelerator without importing `json` (and so `re`).
- `http`      HTTP/1.1 over a unix or TCP socket: requests, chunked bodies both ways, upgrades.
- `errors`    the exception tree (`ClientError` > `DaemonUnreachable`, `ProtocolError`, `APIError`).
- `api`       `APIClient`: version negotiation with `/_ping`, JSON calls, streams, hijacks.
- `mux`       the 8-byte multiplexed stream framing of attach, exec and logs.
- `detach`    the detach key sequence (Ctrl-P Ctrl-Q) spotted in what the user types.
- `hijack`    the pump that moves bytes between the terminal and a hijacked connection.

Example::

    from hako.client.api import APIClient
    client = APIClient("unix:///run/hako/hako.sock")
    for c in client.get_json("/containers/json", {"all": "1"}):
        print(c["Id"][:12], c["Status"])
"""
