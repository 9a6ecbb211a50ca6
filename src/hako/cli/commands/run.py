"""`hako run` and `hako create`.

`run` makes the calls in the order docker's CLI does, because the daemon relies on it::

    POST /containers/create            (404 "No such image" -> pull, then create again)
    POST /containers/{id}/attach       hijacked, on its own connection, unless -d
    POST /containers/{id}/wait         condition=next-exit (removed with --rm), response held open
    POST /containers/{id}/start
    POST /containers/{id}/resize       with a TTY, and again on SIGWINCH

then pumps the streams until the daemon closes the attach connection and takes the exit status
from the wait response. Attach and wait come before start so no output and no exit is missed.
With ``-d`` it creates, starts and prints the id (docker also sends a wait it abandons; hako
skips that call).
"""

from __future__ import annotations

from hako.client.errors import APIError, ClientError, NotFound

from ..command import Command, StatusError, at_least
from ..containeropts import CREATE_FLAGS, RUN_FLAGS, OptionError, build_create_request
from ..context import PROG
from ..terminal import terminal_size


def run(cli, opts, args) -> int:
    detach = opts["detach"]
    _check_stdin_tty(cli, opts, detach)
    try:
        name, body = _create_body(cli, opts, args, detach)
        container_id = create_container(cli, name, body, opts, "run")
    except StatusError:
        raise
    except OptionError as exc:
        raise _run_error(str(exc), 125) from None
    except ClientError as exc:
        raise _run_error(_client_message(exc), 125) from None
    if detach:
        try:
            cli.client.post(f"/containers/{container_id}/start")
        except ClientError as exc:
            raise _run_error(_client_message(exc), status_for_start_error(str(exc))) from None
        cli.out.write(container_id + "\n")
        return 0
    from .attached import run_attached
    return run_attached(cli, container_id, body, opts)


def create(cli, opts, args) -> int:
    _check_stdin_tty(cli, opts, detach=True)
    try:
        name, body = _create_body(cli, opts, args, detach=False)
    except OptionError as exc:
        raise StatusError(125, f"{PROG}: {exc}\n\nRun '{PROG} create --help' for more information") from None
    container_id = create_container(cli, name, body, opts, "create")
    cli.out.write(container_id + "\n")
    return 0


def _check_stdin_tty(cli, opts, detach: bool) -> None:
    import os
    if opts["tty"] and opts["interactive"] and not detach and not os.isatty(cli.stdin_fd):
        raise StatusError(1, "the input device is not a TTY")


def _create_body(cli, opts, args, detach: bool):
    console = terminal_size(cli.out.fd) if opts["tty"] else (0, 0)
    return build_create_request(opts, args, environ=cli.environ, detach=detach, console_size=console)


def create_container(cli, name: str, body: dict, opts, verb: str) -> str:
    """Create (pulling the image first if it is missing and --pull allows); return the id and
    print the daemon's warnings. ``verb`` is "run" or "create" for messages."""
    image = body["Image"]
    query = {"name": name} if name else None
    pull = opts["pull"]
    if pull not in ("always", "missing", "never", ""):
        raise StatusError(125, f"{PROG}: invalid pull option: '{pull}': must be one of \"always\", "
                          f"\"missing\" or \"never\"\n\nRun '{PROG} {verb} --help' for more information")
    cidfile = opts["cidfile"]
    if cidfile:
        _check_cidfile(cidfile)
    if pull == "always":
        _pull(cli, image, opts, verb)
    try:
        created = cli.client.post_json("/containers/create", query, body)
    except NotFound as exc:
        if pull == "never" or not exc.message.startswith("No such image") or _is_image_id(image):
            raise
        if not opts["quiet"]:  # docker 28 stays silent with -q
            from ..reference import familiar_string
            cli.err.write(f"Unable to find image '{familiar_string(image)}' locally\n")
        _pull(cli, image, opts, verb)
        created = cli.client.post_json("/containers/create", query, body)
    for warning in created.get("Warnings") or ():
        cli.err.write(f"WARNING: {warning}\n")
    if cidfile:
        with open(cidfile, "w") as f:
            f.write(created["Id"])
    return created["Id"]


def _pull(cli, image: str, opts, verb: str) -> None:
    """docker's pullImage: progress on stderr; a failure ends `run` with 125 and its help line,
    `create` with 1 (an API error is left to the caller, which maps it the same way)."""
    from ..progress import StreamFailed
    from .distribution import pull_image
    try:
        pull_image(cli, image, quiet=opts["quiet"], out=cli.err, platform=opts["platform"],
                   ask_credentials=False)
    except (StreamFailed, StatusError) as exc:
        message = exc.message if isinstance(exc, StatusError) else str(exc)
        if verb == "run":
            raise _run_error(message, 125) from None
        raise StatusError(1, message) from None


def _is_image_id(image: str) -> bool:
    """An image given by its id is never pulled (docker's ParseAnyReference gives no name)."""
    hex_part = image[7:] if image.startswith("sha256:") else image
    return len(hex_part) == 64 and all(c in "0123456789abcdef" for c in hex_part)


def _check_cidfile(path: str) -> None:
    import os
    if os.path.exists(path):
        raise StatusError(125, f"{PROG}: container ID file found, make sure the other container "
                          f"isn't running or delete {path}")


def status_for_start_error(message: str) -> int:
    """docker's toStatusError: 127 when the command is not there, 126 when it cannot be run,
    125 for anything else."""
    if ("executable file not found" in message or "no such file or directory" in message
            or "system cannot find the file specified" in message):
        return 127
    if "permission denied" in message or "is a directory" in message:
        return 126
    return 125


def _client_message(exc: ClientError) -> str:
    if isinstance(exc, APIError):
        return f"Error response from daemon: {exc.message}"
    return str(exc)


def _run_error(message: str, status: int) -> StatusError:
    return StatusError(status, f"{PROG}: {message}\n\nRun '{PROG} run --help' for more information")


RUN = Command("[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
              flags=RUN_FLAGS, args=at_least(1), action=run, interspersed=False,
              aliases=("container run", "run"))
CREATE = Command("[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
                 flags=CREATE_FLAGS, args=at_least(1), action=create, interspersed=False,
                 aliases=("container create", "create"))
