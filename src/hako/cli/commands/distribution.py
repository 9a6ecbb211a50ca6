"""Images to and from registries: pull and push.

What they send, as docker 28's CLI does::

    pull  NAME      POST /images/create?fromImage=<full name>&tag=<tag|digest>   X-Registry-Auth
    push  NAME      POST /images/<full name>/push?tag=<tag>                      X-Registry-Auth

The daemon answers with a JSON progress stream, shown with `hako.cli.progress` (live per-layer
bars on a terminal, plain lines elsewhere). An error inside the stream ends the command with the
stream's message, without "Error response from daemon:", as docker prints it. Credentials come
from docker's config.json and credential helpers (`hako.cli.credentials`); login and logout are
in login.py, save and load in archive.py.
"""

from __future__ import annotations

import os

from hako.client.errors import APIError

from ..command import Command, StatusError, exactly
from ..flags import STRING, Flag
from ..progress import StreamFailed, display_output
from ..reference import parse_named


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


def _post_stream(cli, path: str, query: dict, named, verb: str, ask: bool = True):
    """POST a pull or push with the stored credentials; on a 401, when ``ask`` and the user is
    at a terminal, ask for credentials once and retry (docker's RegistryAuthenticationPrivilegedFunc)."""
    header = registry_auth(cli, named.domain)
    try:
        return cli.client.request("POST", path, query, headers={"X-Registry-Auth": header})
    except APIError as exc:
        if exc.status != 401 or not ask or not os.isatty(cli.stdin_fd):
            raise
    from ..credentials import CredentialsError, auth_key, registry_auth_header
    key = auth_key(named.domain)
    cli.out.write(f"\nLogin prior to {verb}:\n")
    try:
        stored = load_config(cli).get_credentials(key)
    except CredentialsError as exc:
        cli.err.write(f"Unable to retrieve stored credentials for {key}, error: {exc}.\n")
        stored = None
    from .login import prompt_credentials
    creds = prompt_credentials(cli, "", "", stored.username if stored else "", key)
    return cli.client.request("POST", path, query, headers={"X-Registry-Auth": registry_auth_header(creds)})


# -- pull ----------------------------------------------------------------------------------------

def pull_image(cli, ref: str, quiet: bool = False, out=None, all_tags: bool = False,
               platform: str = "", ask_credentials: bool = True) -> None:
    """``POST /images/create`` for ``ref`` and show its progress on ``out`` (stdout by default;
    `run` and `create` pass stderr, and no prompt on a 401, as docker's pullImage). Raises
    `StreamFailed` for an error inside the stream."""
    named = _named(ref)
    query = {"fromImage": named.name}
    if not all_tags:
        query["tag"] = named.digest or named.tag or "latest"
    if platform:
        query["platform"] = platform.lower()
    resp = _post_stream(cli, "/images/create", query, named, "pull", ask_credentials)
    try:
        display_output(resp.lines(), _Discard() if quiet else (out or cli.out))
    finally:
        resp.close()


def _tagged(cli, opts, name: str):
    """The reference pull and push name: `latest` added (and said) unless -a asks for every tag."""
    named = _named(name)
    if opts["all_tags"] and not named.name_only:
        raise StatusError(1, "tag can't be used with --all-tags/-a")
    if not opts["all_tags"] and named.name_only:
        named = named.with_default_tag()
        if not opts["quiet"]:
            cli.out.write(f"Using default tag: {named.tag}\n")
    return named


def pull(cli, opts, args) -> int:
    named = _tagged(cli, opts, args[0])
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
    named = _tagged(cli, opts, args[0])
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
