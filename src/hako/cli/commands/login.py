"""`hako login` and `hako logout`: registry credentials, kept where docker keeps them.

    login [SERVER]   POST /auth {"username","password","serveraddress"}; on success the
                     credentials go to config.json or the configured credential helper
    logout [SERVER]  no API call: the credentials are forgotten

Both follow docker 28's CLI: stored credentials are tried first, missing ones are asked for on a
terminal (the password without echo), and the messages are docker's. `prompt_credentials` is
also what pull and push use after a 401.
"""

from __future__ import annotations

import os

from hako.client.errors import APIError

from ..command import Command, StatusError, at_most
from ..context import PROG
from ..flags import STRING, Flag
from .distribution import load_config

REGISTER_SUGGEST = ("Log in with your Docker ID or email address to push and pull images from "
                    "Docker Hub. If you don't have a Docker ID, head over to https://hub.docker.com/ "
                    "to create one.")
UNENCRYPTED_WARNING = ("\nWARNING! Your credentials are stored unencrypted in '{}'.\n"
                       "Configure a credential helper to remove this warning. See\n"
                       "https://docs.docker.com/go/credential-store/\n\n")


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
                args=at_most(1), action=login,
                long="Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.")
LOGOUT = Command("[SERVER]", "Log out from a registry", args=at_most(1), action=logout,
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
