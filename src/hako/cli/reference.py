"""Image references the way docker's CLI normalises them before calling the API.

    normalize("busybox")                 -> ("docker.io/library/busybox", "latest", "")
    normalize("127.0.0.1:5000/a/b:v1")   -> ("127.0.0.1:5000/a/b", "v1", "")
    familiar("docker.io/library/busybox") -> "busybox"

Validation of the name itself is left to the daemon.
"""

from __future__ import annotations

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"


def split_reference(ref: str) -> tuple[str, str, str]:
    """``name[:tag][@digest]`` -> ``(name, tag, digest)``, with empty strings for what is absent."""
    name, _, digest = ref.partition("@")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:  # a colon after the last slash is a tag, not a registry port
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


def full_name(name: str) -> str:
    """Add docker's implied registry and ``library/`` namespace."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return name
    if first == "index.docker.io" and sep:
        name = rest
    if "/" not in name:
        name = OFFICIAL_PREFIX + name
    return f"{DEFAULT_DOMAIN}/{name}"


def normalize(ref: str) -> tuple[str, str, str]:
    """``(full name, tag or "latest" when no digest, digest)``."""
    name, tag, digest = split_reference(ref)
    if not tag and not digest:
        tag = "latest"
    return full_name(name), tag, digest


def familiar(name: str) -> str:
    """The short form docker prints: drop ``docker.io/`` and ``library/``."""
    for prefix in ("docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            if name.startswith(OFFICIAL_PREFIX) and name.count("/") == 1:
                name = name[len(OFFICIAL_PREFIX):]
            break
    return name


def familiar_string(ref: str) -> str:
    """``busybox`` -> ``busybox:latest`` (docker's "Unable to find image 'busybox:latest'")."""
    name, tag, digest = normalize(ref)
    text = familiar(name)
    if tag:
        text += ":" + tag
    if digest:
        text += "@" + digest
    return text


class Named:
    """A reference checked as docker's ParseNormalizedNamed checks it: ``domain``, ``path``
    (``library/busybox``), ``tag`` and ``digest`` ("" when absent)."""

    __slots__ = ("domain", "path", "tag", "digest")

    def __init__(self, domain: str, path: str, tag: str = "", digest: str = "") -> None:
        self.domain, self.path, self.tag, self.digest = domain, path, tag, digest

    @property
    def name(self) -> str:
        """``docker.io/library/busybox``: what the API's ``fromImage`` and push path take."""
        return f"{self.domain}/{self.path}"

    @property
    def name_only(self) -> bool:
        return not self.tag and not self.digest

    def with_default_tag(self) -> "Named":
        return self if not self.name_only else Named(self.domain, self.path, "latest")

    def __str__(self) -> str:
        """``docker.io/library/busybox:latest`` (reference.String, the line pull prints last)."""
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


_PATTERNS = None


def _patterns():
    global _PATTERNS
    if _PATTERNS is None:
        import re  # only for commands that parse references, not on `run`'s path
        domain_part = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
        domain = rf"(?:{domain_part}(?:\.{domain_part})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
        component = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
        tag = r"[\w][\w.-]{0,127}"
        digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
        _PATTERNS = (re.compile(rf"^((?:{domain}/)?{component}(?:/{component})*)(?::({tag}))?(?:@({digest}))?$", re.ASCII),
                     re.compile(r"^[a-f0-9]{64}$"), re.compile(r"[A-Z]"))
    return _PATTERNS


def parse_named(ref: str) -> Named:
    """docker's reference.ParseNormalizedNamed; ValueError with docker's message."""
    reference, identifier, upper = _patterns()
    if identifier.match(ref):
        raise ValueError(f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings")
    first, sep, rest = ref.partition("/")
    if not sep or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, ref
    else:
        domain, remainder = first, rest
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    path_part = remainder.split("@", 1)[0]
    colon = path_part.rfind(":")
    if colon >= 0:
        path_part = path_part[:colon]
    if upper.search(path_part):
        raise ValueError(f"invalid reference format: repository name ({path_part}) must be lowercase")
    match = reference.match(f"{domain}/{remainder}")
    if match is None:
        raise ValueError("invalid reference format")
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    if len(name) > 255:
        raise ValueError("repository name must not be more than 255 characters")
    if digest.startswith("sha256:") and len(digest) != 71:
        raise ValueError("invalid checksum digest length")
    return Named(domain, name[len(domain) + 1:], tag, digest)
