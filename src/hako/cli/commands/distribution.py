"""Images between machines: pull, push, login, logout, save, load.

Each does what docker 28's CLI does, call for call and line for line::

    pull  NAME      POST /images/create?fromImage=<full name>&tag=<tag|digest>   X-Registry-Auth
    push  NAME      POST /images/<full name>/push?tag=<tag>                      X-Registry-Auth
    login [SERVER]  POST /auth {"username","password","serveraddress"}, then config.json
    logout [SERVER] no API call: forget the credentials
    save  IMAGE...  GET /images/get?names=…  -> -o FILE (written atomically) or stdout
    load            POST /images/load?quiet=0|1, the archive streamed as a chunked body

Pull and push show the daemon's JSON progress stream with `hako.cli.progress` (live bars on a
terminal, plain lines elsewhere); errors inside the stream end the command with the stream's
message, without docker's "Error response from daemon:" prefix, as docker prints them.
Credentials come from `hako.cli.credentials` (docker's config.json and credential helpers).
"""

from __future__ import annotations

import os

from hako.client.errors import APIError

from ..command import Command, StatusError, at_least, at_most, exactly, no_args
from ..context import PROG
from ..flags import STRING, Flag
from ..progress import StreamFailed, display_output
from ..reference import parse_named

REGISTER_SUGGEST = ("Log in with your Docker ID or email address to push and pull images from "
                    "Docker Hub. If you don't have a Docker ID, head over to https://hub.docker.com/ "
                    "to create one.")
UNENCRYPTED_WARNING = ("\nWARNING! Your credentials are stored unencrypted in '{}'.\n"
                       "Configure a credential helper to remove this warning. See\n"
                       "https://docs.docker.com/go/credential-store/\n\n")


class _Discard:
    """Where -q sends the progress stream (errors in it still end the command)."""

    fd = -1

    def write(self, text: str) -> None:
        pass

    def isatty(self) -> bool:
        return False


# -- credentials -------------------------------------------------------------------------------

def load_config(cli):
    from ..credentials import ConfigFile, config_dir
    return ConfigFile.load(config_dir(cli.environ), warn=cli.err.write, environ=cli.environ)


def registry_auth(cli, domain: str) -> str:
    """X-Registry-Auth for a registry domain; a helper that fails counts as no credentials,
    as docker's ResolveAuthConfig ignores the error."""
    from ..credentials import CredentialsError, auth_key, registry_auth_header
    try:
        creds = load_config(cli).get_credentials(auth_key(domain))
    except CredentialsError:
        creds = None
    return registry_auth_header(creds)


def _named(ref: str):
    try:
        return parse_named(ref)
    except ValueError as exc:
        raise StatusError(1, str(exc)) from None


def _post_stream(cli, path: str, query: dict, named, verb: str):
    """POST a pull or push with the stored credentials; on a 401, when the user is at a
    terminal, ask for credentials once and retry (docker's RegistryAuthenticationPrivilegedFunc)."""
    header = registry_auth(cli, named.domain)
    try:
        return cli.client.request("POST", path, query, headers={"X-Registry-Auth": header})
    except APIError as exc:
        if exc.status != 401 or not os.isatty(cli.stdin_fd):
            raise
    from ..credentials import CredentialsError, auth_key, registry_auth_header
    key = auth_key(named.domain)
    cli.out.write(f"\nLogin prior to {verb}:\n")
    try:
        stored = load_config(cli).get_credentials(key)
    except CredentialsError as exc:
        cli.err.write(f"Unable to retrieve stored credentials for {key}, error: {exc}.\n")
        stored = None
    creds = prompt_credentials(cli, "", "", stored.username if stored else "", key)
    return cli.client.request("POST", path, query, headers={"X-Registry-Auth": registry_auth_header(creds)})


# -- pull ----------------------------------------------------------------------------------------

def pull_image(cli, ref: str, quiet: bool = False, out=None, all_tags: bool = False,
               platform: str = "") -> None:
    """``POST /images/create`` for ``ref`` and show its progress on ``out`` (stdout by default;
    `run` and `create` pass stderr). Raises `StreamFailed` for an error inside the stream."""
    named = _named(ref)
    query = {"fromImage": named.name}
    if not all_tags:
        query["tag"] = named.digest or named.tag or "latest"
    if platform:
        query["platform"] = platform.lower()
    resp = _post_stream(cli, "/images/create", query, named, "pull")
    try:
        display_output(resp.lines(), _Discard() if quiet else (out or cli.out))
    finally:
        resp.close()


def pull(cli, opts, args) -> int:
    named = _named(args[0])
    if opts["all_tags"] and not named.name_only:
        raise StatusError(1, "tag can't be used with --all-tags/-a")
    if not opts["all_tags"] and named.name_only:
        named = named.with_default_tag()
        if not opts["quiet"]:
            cli.out.write(f"Using default tag: {named.tag}\n")
    try:
        pull_image(cli, str(named), quiet=opts["quiet"], all_tags=opts["all_tags"],
                   platform=opts["platform"])
    except StreamFailed as exc:
        raise StatusError(1, str(exc)) from None
    cli.out.write(f"{named}\n")  # docker ends with the full reference, even with -q
    return 0


PULL = Command("[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry",
               flags=(Flag("all-tags", "a", help="Download all tagged images in the repository"),
                      Flag("disable-content-trust", None, default=True, help="Skip image verification"),
                      Flag("platform", None, STRING, help="Set platform if server is multi-platform capable"),
                      Flag("quiet", "q", help="Suppress verbose output")),
               args=exactly(1), action=pull, aliases=("image pull", "pull"))


# -- push ----------------------------------------------------------------------------------------

def push(cli, opts, args) -> int:
    named = _named(args[0])
    if opts["all_tags"] and not named.name_only:
        raise StatusError(1, "tag can't be used with --all-tags/-a")
    if not opts["all_tags"] and named.name_only:
        named = named.with_default_tag()
        if not opts["quiet"]:
            cli.out.write(f"Using default tag: {named.tag}\n")
    if named.digest:
        raise StatusError(1, "cannot push a digest reference")
    query = {"tag": named.tag} if named.tag else {}
    resp = _post_stream(cli, f"/images/{named.name}/push", query, named, "push")
    try:
        display_output(resp.lines(), _Discard() if opts["quiet"] else cli.out)
    except StreamFailed as exc:
        raise StatusError(1, str(exc)) from None
    finally:
        resp.close()
    if opts["quiet"]:
        cli.out.write(f"{named}\n")
    return 0


PUSH = Command("[OPTIONS] NAME[:TAG]", "Upload an image to a registry",
               flags=(Flag("all-tags", "a", help="Push all tags of an image to the repository"),
                      Flag("disable-content-trust", None, default=True, help="Skip image signing"),
                      Flag("quiet", "q", help="Suppress verbose output")),
               args=exactly(1), action=push, aliases=("image push", "push"))


# -- login / logout ------------------------------------------------------------------------------

def login(cli, opts, args) -> int:
    from ..credentials import INDEX_SERVER, CredentialsError, convert_to_hostname
    user, password = opts["username"], opts["password"]
    if password:
        if opts["password_stdin"]:
            raise StatusError(1, "conflicting options: cannot specify both --password and --password-stdin")
        cli.err.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    if opts["password_stdin"]:
        if not user:
            raise StatusError(1, "the --password-stdin option requires --username to be set")
        password = _read_all(cli.stdin_fd).decode("utf-8", "replace")
        password = password.removesuffix("\n").removesuffix("\r")
    server = args[0] if args and args[0] != "docker.io" else INDEX_SERVER
    key = server if server == INDEX_SERVER else convert_to_hostname(server)
    config = load_config(cli)
    stored = None
    if not user and not password:
        try:
            stored = config.get_credentials(key)
        except CredentialsError:
            stored = None
    if stored is not None and stored.username and stored.password:
        status = _login_with_stored(cli, stored)
        if status is not None:
            if status:
                cli.out.write(status + "\n")
            return 0
    if (not user or not password) and not os.isatty(cli.stdin_fd):
        raise StatusError(1, "Error: Cannot perform an interactive login from a non TTY device")
    creds = prompt_credentials(cli, user, password, stored.username if stored else "", key)
    reply = cli.client.post_json("/auth", None, creds.to_api()) or {}
    if reply.get("IdentityToken"):
        creds.password, creds.identity_token = "", reply["IdentityToken"]
    try:
        config.store_credentials(creds)
    except (CredentialsError, OSError) as exc:
        raise StatusError(1, f"Error saving credentials: {exc}") from None
    if config.uses_file_store(key) and creds.password:  # docker: not for an identity token
        cli.err.write(UNENCRYPTED_WARNING.format(config.path))
    if reply.get("Status"):
        cli.out.write(reply["Status"] + "\n")
    return 0


def _login_with_stored(cli, stored):
    """Try the stored credentials; the daemon's status on success, None to ask for others."""
    cli.err.write(f"Authenticating with existing credentials... [Username: {stored.username}]\n")
    try:
        reply = cli.client.post_json("/auth", None, stored.to_api()) or {}
    except APIError as exc:
        if exc.status == 401:
            cli.err.write("Stored credentials invalid or expired\n")
        else:
            cli.err.write(f"Login did not succeed, error: Error response from daemon: {exc.message}\n")
        return None
    cli.err.write(f"\n Info -> To login with a different account, run '{PROG} logout' followed by "
                  f"'{PROG} login'\n\n\n")
    return reply.get("Status") or ""


def prompt_credentials(cli, user: str, password: str, default_user: str, server: str):
    """docker's PromptUserForCredentials: ask for what is missing (the password without echo);
    both are trimmed of spaces, as docker does."""
    from ..credentials import INDEX_SERVER, Credentials
    user = user.strip()
    if not user:
        if server == INDEX_SERVER:
            cli.out.write(REGISTER_SUGGEST + "\n")
        default_user = default_user.strip()
        cli.out.write(f"Username ({default_user}): " if default_user else "Username: ")
        user = _read_line(cli.stdin_fd).strip() or default_user
        if not user:
            raise StatusError(1, "Error: Non-null Username Required")
    password = password.strip()
    if not password:
        cli.out.write("Password: ")
        with _NoEcho(cli.stdin_fd):
            password = _read_line(cli.stdin_fd).strip()
        cli.out.write("\n")
        if not password:
            raise StatusError(1, "Error: Password Required")
    return Credentials(user, password, server)


def logout(cli, opts, args) -> int:
    from ..credentials import INDEX_SERVER, CredentialsError, convert_to_hostname
    server = args[0] if args else INDEX_SERVER
    hostname = server
    addresses = [server]
    if server != INDEX_SERVER:
        # docker also tries the forms older versions stored the registry under
        hostname = convert_to_hostname(server)
        addresses += [hostname, f"http://{hostname}", f"https://{hostname}"]
    cli.out.write(f"Removing login credentials for {hostname}\n")
    config = load_config(cli)
    errors = []
    for address in addresses:
        try:
            config.erase_credentials(address)
        except (CredentialsError, OSError) as exc:
            errors.append((address, exc))
    if len(errors) == len(addresses):
        cli.err.write("WARNING: could not erase credentials:\n")
        cli.out.write("".join(f"{address}: {exc}\n" for address, exc in errors))
    return 0


LOGIN = Command("[OPTIONS] [SERVER]", "Authenticate to a registry",
                flags=(Flag("password", "p", STRING, help="Password or Personal Access Token (PAT)"),
                       Flag("password-stdin", None, help="Take the Password or Personal Access Token (PAT) from stdin"),
                       Flag("username", "u", STRING, help="Username")),
                args=at_most(1), action=login, aliases=("login",),
                long="Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.")
LOGOUT = Command("[SERVER]", "Log out from a registry", args=at_most(1), action=logout,
                 aliases=("logout",),
                 long="Log out from a registry.\nIf no server is specified, the default is defined by the daemon.")


def _read_line(fd: int) -> str:
    """One line from ``fd``, read a byte at a time so nothing after it is consumed."""
    data = bytearray()
    while True:
        byte = os.read(fd, 1)
        if not byte or byte == b"\n":
            return data.decode("utf-8", "replace").rstrip("\r")
        data += byte


def _read_all(fd: int) -> bytes:
    parts = []
    while True:
        data = os.read(fd, 65536)
        if not data:
            return b"".join(parts)
        parts.append(data)


class _NoEcho:
    """Turn the terminal's echo off while the password is typed (docker's DisableInputEcho)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved = None

    def __enter__(self):
        if os.isatty(self.fd):
            import termios
            self.saved = termios.tcgetattr(self.fd)
            attrs = list(self.saved)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is not None:
            import termios
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)


# -- save / load ---------------------------------------------------------------------------------

def save(cli, opts, args) -> int:
    output = opts["output"]
    if not output and cli.out.isatty():
        raise StatusError(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if output:
        _check_output_path(output)
    resp = cli.client.request("GET", "/images/get", {"names": list(args)})
    try:
        if output:
            _copy_to_file(resp, output)
        else:
            _copy(resp, cli.out.fd)
    finally:
        resp.close()
    return 0


def _check_output_path(path: str) -> None:
    """docker's ValidateOutputPath: the directory must exist; an existing path must be a
    regular file."""
    import stat
    directory = os.path.dirname(os.path.normpath(path))
    if directory and directory != ".":
        try:
            os.stat(directory)
        except OSError as exc:
            raise StatusError(1, f"failed to save image: invalid output path: stat {directory}: "
                              f"{_reason(exc)}") from None
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StatusError(1, f"failed to save image: stat {path}: {_reason(exc)}") from None
    if stat.S_ISDIR(mode):
        raise StatusError(1, "failed to save image: cannot write to a directory")
    if not stat.S_ISREG(mode):
        raise StatusError(1, f'failed to save image: invalid output path: "{path}" must be a '
                          "directory or a regular file")


def _copy_to_file(resp, path: str) -> None:
    """Write the body to a temporary file beside ``path`` and rename it into place only once the
    whole archive arrived, so a failed save leaves nothing (docker's CopyToFile; mode 0600)."""
    import tempfile
    directory = os.path.dirname(path) or "."
    try:
        fd, temp = tempfile.mkstemp(prefix=".hako_temp_", dir=directory)
    except OSError as exc:
        raise StatusError(1, f"open {directory}/.hako_temp_: {_reason(exc)}") from None
    try:
        try:
            _copy(resp, fd)
        finally:
            os.close(fd)
        try:
            os.rename(temp, path)
        except OSError as exc:
            raise StatusError(1, f"rename {temp} {path}: {_reason(exc)}") from None
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _reason(exc: OSError) -> str:
    """Go's spelling of an errno: "permission denied", "is a directory"."""
    return (exc.strerror or str(exc)).lower()


def _copy(resp, fd: int) -> None:
    while True:
        data = resp.read_some()
        if not data:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]


def load(cli, opts, args) -> int:
    path = opts["input"]
    if path:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise StatusError(1, f"open {path}: {_reason(exc)}") from None
    else:
        if os.isatty(cli.stdin_fd):
            raise StatusError(1, "requested load from stdin, but stdin is empty")
        fd = cli.stdin_fd
    quiet = opts["quiet"] or not cli.out.isatty()
    try:
        resp = cli.client.request("POST", "/images/load", {"quiet": "1" if quiet else "0"},
                                  _chunks(fd), headers={"Content-Type": "application/x-tar"})
        try:
            if "application/json" in resp.header("content-type"):
                display_output(resp.lines(), cli.out)
            else:
                _copy(resp, cli.out.fd)
        except StreamFailed as exc:
            raise StatusError(1, str(exc)) from None
        finally:
            resp.close()
    finally:
        if path:
            os.close(fd)
    return 0


def _chunks(fd: int, size: int = 1 << 20):
    while True:
        data = os.read(fd, size)
        if not data:
            return
        yield data


SAVE = Command("[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)",
               flags=(Flag("output", "o", STRING, help="Write to a file, instead of STDOUT"),),
               args=at_least(1), action=save, aliases=("image save", "save"))
LOAD = Command("[OPTIONS]", "Load an image from a tar archive or STDIN",
               flags=(Flag("input", "i", STRING, help="Read from tar archive file, instead of STDIN"),
                      Flag("quiet", "q", help="Suppress the load output")),
               args=no_args, action=load, aliases=("image load", "load"))
