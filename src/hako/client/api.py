"""`APIClient`: Engine API calls with version negotiation, JSON, streams and hijacks.

Version negotiation is docker's: the first call pings (``HEAD /_ping``, falling back to ``GET``)
and every later path carries the prefix ``/v{min(server's Api-Version, 1.44)}``; a server that
sends no version gets 1.24. ``HAKO_API_VERSION`` or ``DOCKER_API_VERSION`` pins the version and
skips the ping (one round trip less).

Errors: a status >= 400 raises `APIError` (`NotFound` for 404) carrying the daemon's message;
a socket that cannot be reached raises `DaemonUnreachable`.

Example::

    client = APIClient("unix:///run/hako/hako.sock")
    created = client.post_json("/containers/create", {"name": "web"}, {"Image": "busybox"})
    client.post("/containers/web/start")
"""

from __future__ import annotations

from . import jsoncodec
from .errors import ProtocolError, api_error
from .hosts import Host, parse_host
from .http import Connection

MAX_API_VERSION = "1.44"
FALLBACK_API_VERSION = "1.24"  # what docker assumes for a server without an Api-Version header


class APIClient:
    """A client bound to one daemon address. Not thread-safe; `new_connection` gives extra
    sockets for calls that must run side by side (wait during start, a hijacked stream)."""

    def __init__(self, host: str | Host, version: str | None = None) -> None:
        self.host = parse_host(host) if isinstance(host, str) else host
        self.version = version          # negotiated (or pinned) API version, e.g. "1.41"
        self.server_headers: dict = {}  # headers of the /_ping reply, once pinged
        self._conn: Connection | None = None

    # -- connections and negotiation ----------------------------------------------------------

    def connection(self) -> Connection:
        """The shared keep-alive connection for sequential calls."""
        if self._conn is None:
            self._conn = Connection(self.host)
        return self._conn

    def new_connection(self) -> Connection:
        return Connection(self.host)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def version_at_least(self, version: str) -> bool:
        """Whether the negotiated API version is ``version`` or newer (pings if needed)."""
        if self.version is None:
            self.ping()
        return version_tuple(self.version) >= version_tuple(version)

    def ping(self) -> dict:
        """``HEAD /_ping`` (``GET`` if HEAD is refused); returns the reply's headers and sets
        `version` unless it was pinned. The Api-Version header is honoured whatever the status,
        as docker does."""
        conn = self.connection()
        resp = conn.request("HEAD", "/_ping")
        resp.read()
        if resp.status >= 400 and "api-version" not in resp.headers:
            resp = conn.request("GET", "/_ping")
            resp.read()
        self.server_headers = resp.headers
        if self.version is None:
            server = resp.headers.get("api-version", "")
            self.version = (min_version(server, MAX_API_VERSION) if server
                            else FALLBACK_API_VERSION)
        return resp.headers

    def path(self, path: str, query: dict | None = None) -> str:
        """The request target for an API path: version prefix plus encoded query."""
        if self.version is None:
            self.ping()
        target = f"/v{self.version}{path}"
        if query:
            target += "?" + encode_query(query)
        return target

    # -- calls --------------------------------------------------------------------------------

    def request(self, method: str, path: str, query: dict | None = None, body=None,
                headers: dict | None = None, conn: Connection | None = None):
        """Send one call and return its `Response` with the body unread; raise `APIError` for
        error statuses. A dict or list body is sent as JSON; bytes or an iterable as given."""
        target = self.path(path, query)
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = jsoncodec.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        resp = (conn or self.connection()).request(method, target, headers, body)
        if resp.status >= 400:
            raise api_error(resp.status, error_message(resp, resp.read()))
        return resp

    def send(self, method: str, path: str, query: dict | None = None, conn: Connection | None = None):
        """Send a call on its own connection without waiting for the reply; returns a
        `PendingCall` whose `response()` reads it later. Docker's CLI sends ``wait`` this way
        (in a goroutine) so a daemon that answers only when the container exits cannot stall
        the ``start`` that follows."""
        conn = conn or self.new_connection()
        conn.send(method, self.path(path, query))
        return PendingCall(conn, method)

    def get_json(self, path: str, query: dict | None = None):
        return decode_json(self.request("GET", path, query).read())

    def post_json(self, path: str, query: dict | None = None, body=None, headers=None):
        """POST and decode the JSON reply (None for an empty body)."""
        data = self.request("POST", path, query, body, headers).read()
        return decode_json(data) if data.strip() else None

    def post(self, path: str, query: dict | None = None, body=None) -> None:
        self.request("POST", path, query, body).read()

    def delete(self, path: str, query: dict | None = None):
        data = self.request("DELETE", path, query).read()
        return decode_json(data) if data.strip() else None

    def hijack(self, path: str, query: dict | None = None, body=None):
        """Start an attach or exec stream on a fresh connection: send the upgrade request,
        require ``101`` and return ``(socket, bytes_already_received)``. The socket is then a
        raw pipe both ways; the caller closes it."""
        conn = self.new_connection()
        headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
        if body is None:
            headers["Content-Type"] = "text/plain"
        if isinstance(body, (dict, list)):
            body = jsoncodec.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            resp = conn.request("POST", self.path(path, query), headers, body)
        except BaseException:
            conn.close()
            raise
        if resp.status != 101:
            # Like docker's client, anything but 101 is this error, whatever the body says
            # (a 400 for bad detach keys shows as "received 400").
            resp.close()
            raise ProtocolError(f"unable to upgrade to tcp, received {resp.status}")
        return conn.detach()


class PendingCall:
    """A request already sent; `response` reads the reply (raising `APIError` on >= 400)."""

    def __init__(self, conn: Connection, method: str) -> None:
        self.conn = conn
        self.method = method

    def response(self):
        resp = self.conn.read_response(self.method)
        if resp.status >= 400:
            raise api_error(resp.status, error_message(resp, resp.read()))
        return resp

    def json(self):
        return decode_json(self.response().read())

    def close(self) -> None:
        self.conn.close()


def decode_json(data: bytes):
    try:
        return jsoncodec.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"invalid JSON from the daemon: {exc}") from exc


def error_message(resp, body: bytes) -> str:
    """The message of an error reply, as docker extracts it: ``message`` of a JSON body, else
    the trimmed text, else a note naming the status."""
    text = body.decode("utf-8", "replace").strip()
    if "application/json" in resp.header("content-type") or text.startswith("{"):
        try:
            message = jsoncodec.loads(text).get("message")
        except (ValueError, AttributeError):
            message = None
        if isinstance(message, str):
            return message.strip()
    if text:
        return text
    return f"request returned {resp.reason or resp.status} for API route and version"


def min_version(a: str, b: str) -> str:
    """The lower of two "1.NN" versions."""
    return a if version_tuple(a) <= version_tuple(b) else b


def version_tuple(version: str) -> tuple:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def quote(text: str) -> str:
    """Percent-encode like Go's url.QueryEscape (space becomes '+')."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in _SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


def encode_query(query: dict) -> str:
    """``{"b": ["x", "y"], "a": "1"}`` -> ``a=1&b=x&b=y``: keys sorted as Go's url.Values.Encode
    sorts them (so requests read like docker's), None values left out."""
    parts = []
    for key, value in sorted(query.items()):
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else (value,):
            parts.append(f"{quote(str(key))}={quote(str(item))}")
    return "&".join(parts)
