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
