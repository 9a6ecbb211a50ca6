"""Image references as Docker parses them, kept in Docker's familiar form.

    busybox                         → busybox:latest
    docker.io/library/busybox:1.36  → busybox:1.36
    localhost:5000/team/app:1.2     → localhost:5000/team/app:1.2
    busybox@sha256:<64 hex>         → busybox@sha256:<64 hex>

The distribution issue adds registries; this module only names and validates.
"""

from __future__ import annotations

import re

from ..errdefs import InvalidArgument

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}"
_REFERENCE = re.compile(rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
ID_PREFIX = re.compile(r"^(sha256:)?[a-f0-9]{1,64}$")


class Reference:
    def __init__(self, repository: str, tag: str | None, digest: str | None):
        self.repository = repository    # familiar: "busybox", "localhost:5000/a/b"
        self.tag = tag
        self.digest = digest

    def __str__(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag or 'latest'}"


def parse(name: str, default_tag: bool = True) -> Reference:
    """Parse and normalise ``name``; InvalidArgument with Docker's wording if it is not a reference."""
    if not name or name != name.strip():
        raise InvalidArgument("invalid reference format")
    match = _REFERENCE.match(name)
    if not match:
        if name.lower() != name and _REFERENCE.match(name.lower()):
            raise InvalidArgument("invalid reference format: repository name must be lowercase")
        raise InvalidArgument("invalid reference format")
    domain, path = match.group("domain"), match.group("path")
    if domain and "." not in domain and ":" not in domain and domain != "localhost":
        # "team/app": the first component is part of the path, not a registry
        path, domain = f"{domain.lower()}/{path}", None
        if not re.match(rf"^{_PATH}$", path):
            raise InvalidArgument("invalid reference format: repository name must be lowercase")
    if domain in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        domain = None
    if domain is None and path.startswith("library/"):
        path = path[len("library/"):]
    repository = f"{domain}/{path}" if domain else path
    if len(repository) > 255:
        raise InvalidArgument("invalid reference format: repository name must not be more than 255 characters")
    tag = match.group("tag")
    if tag is None and default_tag and not match.group("digest"):
        tag = "latest"
    return Reference(repository, tag, match.group("digest"))


def normalize(name: str) -> str:
    return str(parse(name))


def full_name(repository: str) -> str:
    """docker.io/library/busybox for busybox: the form the docker CLI sends and Docker logs."""
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost"):
        return repository
    return f"docker.io/{repository}" if "/" in repository else f"docker.io/library/{repository}"


def split_domain(repository: str) -> tuple[str, str]:
    """("docker.io", "library/busybox") for busybox; the registry and the path on it."""
    domain, path = full_name(repository).split("/", 1)
    return domain, path
