"""Registry credentials kept the way docker's CLI keeps them, so hako and docker share logins.

Where: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``::

    {"auths": {"127.0.0.1:5000": {"auth": "<base64 user:password>"},
               "https://index.docker.io/v1/": {"auth": "…", "identitytoken": "…"}},
     "credsStore": "pass",                          # a helper for every registry …
     "credHelpers": {"registry.example": "ecr"}}    # … or for one

Keys: Docker Hub's is ``https://index.docker.io/v1/``; any other registry is its host[:port]
(``https://host:5000/v2/`` is reduced to ``host:5000``).

Stores: when ``credHelpers`` names a helper for the registry (or ``credsStore`` one for all), the
secret goes to the program ``docker-credential-<name>`` (``store`` reads
``{"ServerURL","Username","Secret"}`` on stdin; ``get`` and ``erase`` read the server; an identity
token is stored with the user ``<token>``), and config.json keeps an empty entry for the
registry. Otherwise it goes to config.json (base64, not encrypted: login warns about it).

Unlike docker, every key of config.json that hako does not know is written back unchanged.
Saving writes a temporary file beside it and renames it over, with the old file's mode
(0600 for a new file).

Example::

    config = ConfigFile.load(config_dir(environ), warn=cli.err.write)
    creds = config.get_credentials(auth_key("127.0.0.1:5000"))
    header = registry_auth_header(creds)        # the X-Registry-Auth value
"""

from __future__ import annotations

import os

from hako.client import jsoncodec

INDEX_SERVER = "https://index.docker.io/v1/"  # docker's key (and server address) for Docker Hub
TOKEN_USERNAME = "<token>"  # how an identity token is stored in a credential helper
CONFIG_FILE = "config.json"


class CredentialsError(Exception):
    """A credential store failed; the text is what docker would print."""


class Credentials:
    """Docker's AuthConfig: what is sent as X-Registry-Auth and to ``POST /auth``."""

    __slots__ = ("username", "password", "server_address", "identity_token", "email")

    def __init__(self, username: str = "", password: str = "", server_address: str = "",
                 identity_token: str = "", email: str = "") -> None:
        self.username = username
        self.password = password
        self.server_address = server_address
        self.identity_token = identity_token
        self.email = email

    def to_api(self) -> dict:
        """The JSON object, fields in the order (and with the omissions) of docker's."""
        fields = (("username", self.username), ("password", self.password), ("email", self.email),
                  ("serveraddress", self.server_address), ("identitytoken", self.identity_token))
        return {key: value for key, value in fields if value}

    def __eq__(self, other) -> bool:
        return isinstance(other, Credentials) and self.to_api() == other.to_api()

    def __repr__(self) -> str:
        return f"Credentials({self.username!r}, server={self.server_address!r})"


# -- keys and the header ------------------------------------------------------------------------

def config_dir(environ) -> str:
    """``$DOCKER_CONFIG``, else ``$HOME/.docker``."""
    configured = environ.get("DOCKER_CONFIG")
    if configured:
        return configured
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".docker")


def auth_key(domain: str) -> str:
    """The config key for a reference's registry domain (docker's getAuthConfigKey)."""
    if domain in ("docker.io", "index.docker.io"):
        return INDEX_SERVER
    return domain


def convert_to_hostname(address: str) -> str:
    """``https://host:5000/v2/`` -> ``host:5000`` (docker's credentials.ConvertToHostname)."""
    for scheme in ("http://", "https://"):
        if address.startswith(scheme):
            address = address[len(scheme):]
            break
    return address.split("/", 1)[0]


def registry_auth_header(creds: Credentials | None) -> str:
    """X-Registry-Auth: base64url of the credentials' JSON; ``e30=`` (``{}``) when there are
    none, as docker sends."""
    body = creds.to_api() if creds is not None and (creds.username or creds.identity_token) else {}
    return _b64(jsoncodec.dumps(body).encode(), url=True)


# -- config.json ----------------------------------------------------------------------------------

class ConfigFile:
    """config.json as a dict (``data``) plus its path; `load` never fails: a file that cannot be
    read is reported through ``warn`` and treated as empty, as docker does."""

    def __init__(self, path: str, data: dict | None = None, environ=None, valid: bool = True) -> None:
        self.path = path
        self.data = data if data is not None else {}
        self.environ = os.environ if environ is None else environ
        self.valid = valid  # False when the file exists but is not JSON: never overwrite it

    @classmethod
    def load(cls, directory: str, warn=None, environ=None) -> "ConfigFile":
        path = os.path.join(directory, CONFIG_FILE)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return cls(path, environ=environ)
        except OSError as exc:
            if warn:
                warn(f"WARNING: Error loading config file: {path}: {exc.strerror}\n")
            return cls(path, environ=environ, valid=False)
        try:
            data = jsoncodec.loads(raw) if raw.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            if warn:
                warn(f"WARNING: Error parsing config file ({path}): {exc}\n")
            return cls(path, environ=environ, valid=False)
        config = cls(path, data, environ)
        if warn:
            for entry in config.auths().values():
                try:
                    decode_auth(entry.get("auth", "") if isinstance(entry, dict) else "")
                except ValueError as exc:
                    warn(f"WARNING: Error parsing config file ({path}): {exc}\n")
                    break
        return config

    def auths(self) -> dict:
        auths = self.data.get("auths")
        return auths if isinstance(auths, dict) else {}

    def helper_for(self, key: str) -> str:
        """The credential helper's name for a registry key ("" for config.json itself)."""
        helpers = self.data.get("credHelpers")
        if isinstance(helpers, dict) and key and isinstance(helpers.get(key), str):
            return helpers[key]
        store = self.data.get("credsStore")
        return store if isinstance(store, str) else ""

    # -- the three operations of a store --------------------------------------------------------

    def get_credentials(self, key: str) -> Credentials:
        """The stored credentials for ``key`` (empty ones, with the server set, when there are
        none). A helper that fails raises `CredentialsError`."""
        creds = self._file_get(key)
        helper = self.helper_for(key)
        if helper:
            found = HelperProgram(helper, self.environ).get(key)
            if found is None:
                return Credentials(server_address=key, email=creds.email)
            username, secret = found
            if username == TOKEN_USERNAME:
                creds.identity_token, creds.username, creds.password = secret, "", ""
            else:
                creds.username, creds.password, creds.identity_token = username, secret, ""
            creds.server_address = key
        return creds

    def store_credentials(self, creds: Credentials) -> None:
        """Keep ``creds`` under its server address (a helper, or config.json) and save."""
        key = creds.server_address
        helper = self.helper_for(key)
        entry: dict = {}
        if helper:
            if creds.identity_token:
                HelperProgram(helper, self.environ).store(key, TOKEN_USERNAME, creds.identity_token)
            else:
                HelperProgram(helper, self.environ).store(key, creds.username, creds.password)
        else:
            auth = encode_auth(creds.username, creds.password)
            if auth:
                entry["auth"] = auth
            if creds.identity_token:
                entry["identitytoken"] = creds.identity_token
        if creds.email:
            entry["email"] = creds.email
        self._set_auths({**self.auths(), key: entry})
        self.save()

    def erase_credentials(self, key: str) -> None:
        """Forget ``key`` in its helper (if any) and in config.json. A helper saying it has no
        such credentials is not an error."""
        helper = self.helper_for(key)
        if helper:
            HelperProgram(helper, self.environ).erase(key)
        auths = self.auths()
        if key in auths:
            self._set_auths({k: v for k, v in auths.items() if k != key})
            self.save()

    def uses_file_store(self, key: str) -> bool:
        return not self.helper_for(key)

    # -- config.json itself ----------------------------------------------------------------------

    def _file_get(self, key: str) -> Credentials:
        auths = self.auths()
        entry = auths.get(key)
        if entry is None:
            # Older docker versions stored "https://host:5000" or "http://host:5000/v1/".
            for stored_key, stored in auths.items():
                if convert_to_hostname(stored_key) == key:
                    entry = stored
                    break
        if not isinstance(entry, dict):
            return Credentials(server_address=key)
        try:
            username, password = decode_auth(entry.get("auth") or "")
        except ValueError:
            username, password = "", ""
        return Credentials(username, password, key, entry.get("identitytoken") or "",
                           entry.get("email") or "")

    def _set_auths(self, auths: dict) -> None:
        if "auths" in self.data:
            self.data["auths"] = auths
        else:  # docker writes "auths" first
            self.data = {"auths": auths, **self.data}

    def save(self) -> None:
        """Write config.json atomically: a temporary file in the same directory, the previous
        file's mode and owner copied onto it, then renamed over (through a symlink if
        config.json is one)."""
        if not self.valid:
            raise CredentialsError(f"not overwriting {self.path}: it could not be read as JSON")
        import json
        import tempfile
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        target = self.path
        if os.path.islink(target):
            target = os.path.join(directory, os.readlink(target))
        text = json.dumps(self.data, indent="\t", ensure_ascii=False)
        fd, temp = tempfile.mkstemp(prefix=CONFIG_FILE, dir=os.path.dirname(target) or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            try:
                st = os.stat(target)
                os.chmod(temp, st.st_mode & 0o7777)
                os.chown(temp, st.st_uid, st.st_gid)
            except FileNotFoundError:
                pass
            except PermissionError:
                pass  # not our file to chown: keep ours
            os.rename(temp, target)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise


def encode_auth(username: str, password: str) -> str:
    """config.json's ``auth``: base64 of ``user:password`` ("" when both are empty)."""
    if not username and not password:
        return ""
    return _b64(f"{username}:{password}".encode())


def decode_auth(auth: str) -> tuple[str, str]:
    """``auth`` -> ``(username, password)``; ``("", "")`` for an empty one. ValueError with
    docker's wording for a broken one."""
    if not auth:
        return "", ""
    import binascii
    bad = next((i for i, c in enumerate(auth)
                if not (c.isascii() and (c.isalnum() or c in "+/="))), None)
    try:
        if bad is not None:
            raise binascii.Error
        decoded = binascii.a2b_base64(auth.encode()).decode("utf-8", "replace")
    except binascii.Error:
        raise ValueError(f"illegal base64 data at input byte {bad or 0}") from None
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        raise ValueError("invalid auth configuration file")
    return username, password.strip("\x00")


def _b64(data: bytes, url: bool = False) -> str:
    import binascii
    text = binascii.b2a_base64(data, newline=False).decode()
    return text.replace("+", "-").replace("/", "_") if url else text


# -- credential helpers ---------------------------------------------------------------------------

class HelperProgram:
    """``docker-credential-<name>``, found on the PATH of ``environ``."""

    NOT_FOUND = "credentials not found in native keychain"

    def __init__(self, name: str, environ) -> None:
        self.name = name
        self.program = f"docker-credential-{name}"
        self.environ = environ

    def get(self, server: str):
        """``(username, secret)`` or None when the helper has nothing for ``server``."""
        ok, out = self._run("get", server.encode())
        if not ok:
            if self.NOT_FOUND in out:
                return None
            raise CredentialsError(f"error getting credentials - err: {self._status}, out: `{out}`")
        try:
            reply = jsoncodec.loads(out)
        except ValueError as exc:
            raise CredentialsError(f"error getting credentials - err: {exc}, out: `{out}`") from None
        if not isinstance(reply, dict):
            raise CredentialsError(f"error getting credentials - out: `{out}`")
        return str(reply.get("Username") or ""), str(reply.get("Secret") or "")

    def store(self, server: str, username: str, secret: str) -> None:
        body = jsoncodec.dumps({"ServerURL": server, "Username": username, "Secret": secret})
        ok, out = self._run("store", body.encode() + b"\n")
        if not ok:
            raise CredentialsError(f"error storing credentials - err: {self._status}, out: `{out}`")

    def erase(self, server: str) -> None:
        ok, out = self._run("erase", server.encode())
        if not ok and self.NOT_FOUND not in out:
            raise CredentialsError(f"error erasing credentials - err: {self._status}, out: `{out}`")

    def _run(self, action: str, data: bytes) -> tuple[bool, str]:
        import shutil
        import subprocess
        path = shutil.which(self.program, path=self.environ.get("PATH", os.defpath))
        if path is None:
            self._status = f'exec: "{self.program}": executable file not found in $PATH'
            return False, ""
        try:
            proc = subprocess.run([path, action], input=data, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=dict(self.environ), timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self._status = str(exc)
            return False, ""
        out = proc.stdout.decode("utf-8", "replace").strip()
        self._status = f"exit status {proc.returncode}"
        return proc.returncode == 0, out
