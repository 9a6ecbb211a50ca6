"""`hako inspect`, `container inspect`, `image inspect`: low-level JSON of objects.

Without ``--type`` each name is looked up as a container, then an image, a network and a volume,
moving on at each 404, as docker does. The JSON is printed as the daemon sent it, re-indented
(see `jsonindent`); ``-f`` renders a Go template per object instead.
"""

from __future__ import annotations

from hako.client.api import decode_json
from hako.client.errors import APIError, NotFound

from ..command import Command, StatusError, at_least
from ..flags import STRING, Flag
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
    found: list[bytes] = []
    errors: list[str] = []
    for name in names:
        raw = None
        for kind in kinds:
            try:
                raw = fetch(cli, kind, name, opts["size"])
                break
            except NotFound as exc:
                if len(kinds) == 1:
                    errors.append(f"Error response from daemon: {exc.message}")
            except APIError as exc:
                errors.append(f"Error response from daemon: {exc.message}")
                break
        else:
            if len(kinds) > 1:
                errors.append(f"Error: No such object: {name}")
        if raw is not None:
            found.append(raw.strip())
    status = 1 if errors else 0
    if opts["format"]:
        status = _render_templates(cli, opts["format"], found) or status
    else:
        joined = ",".join(raw.decode("utf-8", "replace") for raw in found)
        cli.out.write((indent(f"[{joined}]") if found else "[]") + "\n")
    if errors:
        cli.err.write("\n".join(errors) + "\n")
    return status


def _render_templates(cli, template: str, found: list[bytes]) -> int:
    from ..formatter import compile_or_fail, template_engine
    engine = template_engine()
    # docker: 64 when the template does not parse, 1 when it fails on an object
    compiled = compile_or_fail(engine, template, "template parsing error: ", 64)
    for raw in found:
        try:
            cli.out.write(compiled.execute(decode_json(raw)) + "\n")
        except engine.TemplateError as exc:
            raise StatusError(1, f"template parsing error: {exc}") from None
    return 0


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
