"""`hako inspect`, `container inspect`, `image inspect`: low-level JSON of objects.

Without ``--type`` each name is looked up as a container, then an image, a network and a volume,
moving on at each 404, as docker does. The JSON is printed as the daemon sent it, re-indented
(see `jsonindent`); ``-f`` renders a Go template per object instead (see `inspect_format`).
"""

from __future__ import annotations

from hako.client.errors import APIError, NotFound

from ..command import Command, StatusError, at_least
from ..flags import STRING, Flag
from ..formatter import TEMPLATE_ERROR, compile_or_fail, template_engine
from ..inspect_format import render_inspect
from ..jsonindent import indent

_ENDPOINTS = {
    "container": "/containers/{}/json",
    "image": "/images/{}/json",
    "network": "/networks/{}",
    "volume": "/volumes/{}",
}
_SEARCH_ORDER = ("container", "image", "network", "volume")


def fetch(cli, kind: str, name: str, size: bool) -> bytes:
    query = {"size": "1"} if size and kind == "container" else None
    return cli.client.request("GET", _ENDPOINTS[kind].format(name), query).read()


def inspect_objects(cli, opts, names, kinds) -> int:
    """Look each name up and print what was found: the JSON array, or with ``-f`` one
    rendered line per object. As docker, a failure (lookup or template) does not stop the
    others; the output is written at the end (an empty line if ``-f`` rendered nothing), then
    the failures in the order of the names, with status 1."""
    engine = template = None
    if opts["format"]:
        # docker parses the template before looking anything up: status 64 if it does not
        engine = template_engine()
        template = compile_or_fail(engine, opts["format"], TEMPLATE_ERROR, 64)
    found: list[str] = []
    errors: list[str] = []
    for name in names:
        kind, raw = _lookup(cli, name, kinds, opts["size"], errors)
        if raw is None:
            continue
        if template is None:
            found.append(raw.strip().decode("utf-8", "replace"))
            continue
        try:
            found.append(render_inspect(template, kind, raw) + "\n")
        except engine.TemplateError as exc:
            errors.append(f"{TEMPLATE_ERROR}{exc}")
    if template is not None:
        cli.out.write("".join(found) or "\n")
    else:
        cli.out.write((indent(f"[{','.join(found)}]") if found else "[]") + "\n")
    if errors:
        cli.err.write("\n".join(errors) + "\n")
    return 1 if errors else 0


def _lookup(cli, name: str, kinds, size: bool, errors: list[str]):
    """``(kind, raw JSON)`` of the first kind ``name`` is found as, or ``(None, None)`` with
    docker's message added to ``errors``."""
    for kind in kinds:
        try:
            return kind, fetch(cli, kind, name, size)
        except NotFound as exc:
            if len(kinds) == 1:
                errors.append(f"Error response from daemon: {exc.message}")
        except APIError as exc:
            errors.append(f"Error response from daemon: {exc.message}")
            return None, None
    if len(kinds) > 1:
        errors.append(f"Error: No such object: {name}")
    return None, None


def inspect(cli, opts, args) -> int:
    kind = opts["type"]
    if kind and kind not in _ENDPOINTS:
        choices = ", ".join(f'"{k}"' for k in _SEARCH_ORDER)
        raise StatusError(1, f'unknown type: "{kind}": must be one of {choices}')
    return inspect_objects(cli, opts, args, (kind,) if kind else _SEARCH_ORDER)


def container_inspect(cli, opts, args) -> int:
    return inspect_objects(cli, opts, args, ("container",))


def image_inspect(cli, opts, args) -> int:
    return inspect_objects(cli, dict(opts, size=False), args, ("image",))


_FORMAT = Flag("format", "f", STRING, help="Format output using a custom template")
_SIZE = Flag("size", "s", help="Display total file sizes if the type is container")

INSPECT = Command("[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on hako objects",
                  flags=(_FORMAT, _SIZE, Flag("type", None, STRING, help="Only inspect objects of the given type")),
                  args=at_least(1), action=inspect)
CONTAINER_INSPECT = Command("[OPTIONS] CONTAINER [CONTAINER...]",
                            "Display detailed information on one or more containers",
                            flags=(_FORMAT, Flag("size", "s", help="Display total file sizes")),
                            args=at_least(1), action=container_inspect)
IMAGE_INSPECT = Command("[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
                        flags=(_FORMAT,), args=at_least(1), action=image_inspect)
