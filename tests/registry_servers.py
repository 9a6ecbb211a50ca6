"""Real registries for tests: Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1.

    with RegistryServer() as registry:                              # anonymous, plain http
        push_with_skopeo(layout, f"{registry.host}/app:1")
    with RegistryServer(auth="htpasswd", users={"alice": "pw"}) as registry: …
    with TokenServer(users={"alice": "pw"}, grants={"alice": {"*": ["pull", "push"]}}) as tokens, \\
            RegistryServer(auth="token", token_server=tokens) as registry:
        …; assert tokens.requests[-1]["scopes"] == ["repository:app:pull,push"]

Each server runs from a fresh temporary directory (config, storage, htpasswd, certificates and the
registry's log, ``registry.log_path``), on a free port, and is stopped by pid and removed on
``stop()``. ``tls=True`` serves https with a self-signed certificate (``cert_pem``) for its
address. ``bind`` may be another of this host's addresses (``host_address()``) for a registry
that is not insecure by default, as loopback ones are.

The token server issues what distribution's token auth checks: a JWT signed ES256 by a key whose
self-signed certificate is the registry's ``rootcertbundle``, carried in the JWT header as ``x5c``;
claims iss/sub/aud/exp/nbf/iat/jti and ``access``. ``grants`` maps a user ("" for anonymous) to
repository patterns (fnmatch) and the actions allowed there; a scope gets the actions it asked
for that are allowed. Every request it saw is in ``requests``.

Test modules get a plain, module-scoped registry with ``from tests.registry_servers import registry``.
"""

from __future__ import annotations

import base64
import datetime
import fnmatch
import http.server
import ipaddress
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

REGISTRY_BINARY = "/usr/bin/docker-registry"
SERVICE = "hako-test-registry"
ISSUER = "hako-test-token-server"


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def host_address() -> str | None:
    """An IPv4 address of this host that is not loopback (so not insecure by default), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.200", 9))      # only picks the route's source address: UDP sends nothing
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") else address


def self_signed(common_name: str, ip: str | None = None) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a fresh P-256 key, valid for a day around now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                        critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


# ---- token server -------------------------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A Docker token server (the Bearer flow's realm) on 127.0.0.1, in a thread."""

    def __init__(self, users: dict[str, str] | None = None, grants: dict[str, dict[str, list[str]]] | None = None,
                 lifetime: int = 300):
        self.users = dict(users if users is not None else {"alice": "secret"})
        self.grants = grants if grants is not None else {name: {"*": ["pull", "push"]} for name in self.users}
        self.lifetime = lifetime
        self.requests: list[dict] = []
        self.refresh_tokens: dict[str, str] = {}     # refresh token → user
        cert_pem, key_pem = self_signed(ISSUER)
        self.cert_pem = cert_pem
        self._key = serialization.load_pem_private_key(key_pem, password=None)
        self._cert_der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def start(self) -> "TokenServer":
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):   # noqa: N802
                owner._handle(self, urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query))

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                owner._handle(self, urllib.parse.parse_qs(self.rfile.read(length).decode()))

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="token-server",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "TokenServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, params: dict[str, list[str]]) -> None:
        user, refused = self._authenticate(handler.headers.get("Authorization", ""), params)
        scopes = [s for value in params.get("scope", []) for s in value.split(" ") if s]
        record = {"method": handler.command, "account": user, "scopes": scopes,
                  "service": (params.get("service") or [""])[0],
                  "offline": (params.get("offline_token") or [""])[0] == "true",
                  "grant_type": (params.get("grant_type") or [""])[0]}
        if refused:
            record["status"] = 401
            self.requests.append(record)
            self._reply(handler, 401, {"details": "incorrect username or password"})
            return
        access = [self._grant(user or "", scope) for scope in scopes]
        access = [entry for entry in access if entry]
        record.update(status=200, access=access)
        self.requests.append(record)
        reply = {"token": self.issue(user or "", access, record["service"]), "expires_in": self.lifetime,
                 "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        if user and (record["offline"] or record["grant_type"] == "refresh_token"):
            refresh = secrets.token_hex(16)
            self.refresh_tokens[refresh] = user
            reply["refresh_token"] = refresh
        self._reply(handler, 200, reply)

    def _authenticate(self, header: str, params: dict) -> tuple[str | None, bool]:
        """(user or None for anonymous, refused)."""
        if (params.get("grant_type") or [""])[0] == "refresh_token":
            user = self.refresh_tokens.get((params.get("refresh_token") or [""])[0])
            return user, user is None
        if not header.lower().startswith("basic "):
            return None, False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None, True
        return user, self.users.get(user) != password

    def _grant(self, user: str, scope: str) -> dict | None:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        allowed = set()
        for pattern, granted in self.grants.get(user, {}).items():
            if fnmatch.fnmatchcase(name, pattern):
                allowed.update(granted)
        wanted = [a for a in actions.split(",") if a in allowed or "*" in allowed]
        return {"type": kind, "name": name, "actions": wanted} if wanted else None

    def issue(self, subject: str, access: list[dict], service: str = SERVICE) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(self._cert_der).decode()]}
        claims = {"iss": ISSUER, "sub": subject, "aud": service or SERVICE, "exp": now + self.lifetime,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)     # JWS wants r || s, 32 bytes each, not DER
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    @staticmethod
    def _reply(handler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


# ---- registry -----------------------------------------------------------------------------------

class RegistryServer:
    """``docker-registry serve`` on 127.0.0.1:<free port>."""

    def __init__(self, auth: str | None = None, users: dict[str, str] | None = None,
                 token_server: TokenServer | None = None, tls: bool = False, delete: bool = True,
                 bind: str = "127.0.0.1"):
        if auth not in (None, "htpasswd", "token"):
            raise ValueError(f"unknown auth mode {auth!r}")
        if auth == "token" and token_server is None:
            raise ValueError("token auth needs a token_server")
        self.auth = auth
        self.users = dict(users if users is not None else {"alice": "secret"})
        self.token_server = token_server
        self.tls = tls
        self.delete = delete
        self.bind = bind           # the address it listens on and is named by (host, url)
        self.cert_pem = b""        # the self-signed certificate it serves with tls=True
        self.port = 0
        self.dir = ""
        self.process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"{self.bind}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def log_path(self) -> str:
        return os.path.join(self.dir, "registry.log")

    @property
    def storage(self) -> str:
        return os.path.join(self.dir, "storage")

    def __enter__(self) -> "RegistryServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "RegistryServer":
        self.dir = tempfile.mkdtemp(prefix="hako-test-registry-")
        try:
            for _ in range(5):       # the free port may be taken between choosing and binding it
                self.port = free_port(self.bind)
                config = self._write_config()
                with open(self.log_path, "ab") as log:
                    self.process = subprocess.Popen([REGISTRY_BINARY, "serve", config], stdout=log, stderr=log,
                                                    stdin=subprocess.DEVNULL)
                if self._wait_ready():
                    return self
                self._stop_process()
            raise RuntimeError(f"docker-registry did not start: {self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self._stop_process()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = ""

    def _stop_process(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def _write_config(self) -> str:
        lines = ["version: 0.1",
                 "log:", "  level: info", "  accesslog:", "    disabled: true",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.storage}",
                 "  delete:", f"    enabled: {'true' if self.delete else 'false'}",
                 "  maintenance:", "    uploadpurging:", "      enabled: false",
                 "http:", f"  addr: {self.bind}:{self.port}", f"  secret: {secrets.token_hex(16)}",
                 "  draintimeout: 0s"]
        if self.tls:
            cert, key = self_signed(self.bind, ip=self.bind)
            self.cert_pem = cert
            lines += ["  tls:", f"    certificate: {self._file('tls.crt', cert)}",
                      f"    key: {self._file('tls.key', key)}"]
        if self.auth == "htpasswd":
            entries = [subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True,
                                      text=True).stdout.strip() for user, password in self.users.items()]
            htpasswd = self._file("htpasswd", "".join(entry + "\n" for entry in entries).encode())
            lines += ["auth:", "  htpasswd:", "    realm: hako-test", f"    path: {htpasswd}"]
        elif self.auth == "token":
            lines += ["auth:", "  token:", f"    realm: {self.token_server.realm}", f"    service: {SERVICE}",
                      f"    issuer: {ISSUER}",
                      f"    rootcertbundle: {self._file('token-ca.pem', self.token_server.cert_pem)}"]
        return self._file("config.yml", "\n".join(lines + [""]).encode())

    def _file(self, name: str, data: bytes) -> str:
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        context = ssl._create_unverified_context() if self.tls else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=1, context=context):
                    return True
            except urllib.error.HTTPError:
                return True          # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.01)
        return False

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""


@pytest.fixture(scope="module")
def registry():
    """A plain (anonymous, http) registry shared by the tests of one module."""
    with RegistryServer() as server:
        yield server
