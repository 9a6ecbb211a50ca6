"""``inspect -f``: one object's JSON through a Go template, the way docker reaches its answer.

docker first runs the template over the object decoded into its Go struct. Only if that fails
does it fall back to the raw JSON, decoded into maps, with the template option
missingkey=error (cli/command/inspect: TemplateInspector.tryRawInspectFallback). The answer
or error of the fallback is what the user sees. So a key the object lacks is an error::

    template parsing error: template: :1:2: executing "" at <.Missing>: map has no entry for key "Missing"

hako has the JSON but not docker's structs. Both passes therefore run over the JSON with
missingkey=error; what the first pass adds is the one thing a struct knows and the JSON does
not: fields the daemon leaves out when unset (Go's ``omitempty``), which a struct still has at
their zero value. That keeps the common health-check idioms working as in docker::

    {{.State.Health}}                        <nil>   (no healthcheck)
    {{if .State.Health}}…{{end}}             false
    {{.State.Health.Status}}                 error: map has no entry for key "Health"
                                             (the struct pass fails on the nil pointer; the
                                             fallback's error is the one reported)

Known gaps, all from not having the structs: a missing key of a field that is a Go map in
docker (``.Config.Labels.nope``) is an error here where docker prints ``<no value>`` (``index``
behaves as docker's); a whole struct prints as a map (``map[Pid:1 …]``, docker ``{1 …}``).
"""

from __future__ import annotations

from hako.client.api import decode_json

# Fields docker's inspect structs declare with `json:",omitempty"` that hakod leaves out when
# unset, with the zero value the struct holds then: nil pointers, empty strings, false, an
# empty slice or map (printed [] and map[], as Go prints nil ones).
_OPTIONAL_CONFIG = ((("Config", "ExposedPorts"), {}), (("Config", "StopSignal"), ""),
                    (("Config", "Healthcheck"), None), (("Config", "Shell"), []),
                    (("Config", "ArgsEscaped"), False))
_OPTIONAL_FIELDS = {
    "container": ((("State", "Health"), None), (("SizeRw",), None), (("SizeRootFs",), None),
                  (("Config", "StopTimeout"), None), (("Config", "NetworkDisabled"), False),
                  (("Config", "MacAddress"), "")) + _OPTIONAL_CONFIG,
    "image": ((("Variant",), ""), (("OsVersion",), "")) + _OPTIONAL_CONFIG,
}


def render_inspect(template, kind: str, raw: bytes) -> str:
    """The text ``template`` (a compiled gotemplate) gives for one object of ``kind``
    ("container", "image" …) from its raw JSON; raises the engine's TemplateError, with the
    fallback pass's message, when docker would fail too."""
    from .gotemplate import TemplateError  # loaded already: the template was compiled

    data = decode_json(raw)
    for path, zero in _OPTIONAL_FIELDS.get(kind, ()):
        data = _declare(data, path, zero)
    try:
        return template.execute(data, strict=True)
    except TemplateError:
        pass  # the struct pass failed: docker falls back to the raw JSON
    return template.execute(decode_json(raw), strict=True)


class _WithOmitted(dict):
    """A JSON object that also answers for fields left out of it (``omitted``), as a Go
    struct does, while its items, length and JSON stay those of the JSON (omitempty)."""

    def __init__(self, fields: dict):
        super().__init__(fields)
        self.omitted: dict = {}

    def __contains__(self, key) -> bool:
        return super().__contains__(key) or key in self.omitted

    def __getitem__(self, key):
        if super().__contains__(key):
            return super().__getitem__(key)
        return self.omitted[key]


def _declare(data, path: tuple, zero):
    """``data`` in which ``path`` answers ``zero`` if the JSON lacks it; the object holding
    the field is replaced by a `_WithOmitted` copy. Nothing changes if a parent is absent."""
    *parents, last = path
    holder, key, obj = None, None, data
    for name in parents:
        if not isinstance(obj, dict) or name not in obj:
            return data
        holder, key, obj = obj, name, obj[name]
    if not isinstance(obj, dict) or last in obj:
        return data
    if not isinstance(obj, _WithOmitted):
        obj = _WithOmitted(obj)
    obj.omitted[last] = zero
    if holder is None:
        return obj
    holder[key] = obj
    return data
