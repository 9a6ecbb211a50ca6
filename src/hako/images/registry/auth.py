"""Credentials for a registry and the challenges a registry answers with; pure parsing, no I/O.

    decode_registry_auth("eyJ1c2VybmFtZSI6ImEiLCJwYXNzd29yZCI6ImIifQ")
    # Credentials(username="a", password="b")
    parse_challenges('Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"')
    # [Challenge("bearer", {"realm": "https://auth/token", "service": "registry", "scope": ...})]

The header ``X-Registry-Auth`` is what the docker CLI and SDK send with pull, push and
``/distribution``: base64url of a JSON AuthConfig. ``WWW-Authenticate`` follows RFC 7235: a list
of challenges, each a scheme and comma-separated ``key=value`` parameters whose values may be
quoted strings holding commas (``scope="repository:a:pull,push"``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from ...errdefs import InvalidArgument


@dataclass
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""    # an OAuth2 refresh token given by a token server at login
    registry_token: str = ""    # a bearer token to send as it is
    server_address: str = ""

    def has_password(self) -> bool:
        return bool(self.username or self.password)


@dataclass(frozen=True)
class Challenge:
    scheme: str                                     # lower case: "basic", "bearer"
    params: dict[str, str] = field(default_factory=dict)   # keys lower case

    def __hash__(self) -> int:
        return hash((self.scheme, tuple(sorted(self.params.items()))))


def decode_registry_auth(header: str | None) -> Credentials | None:
    """Credentials from an ``X-Registry-Auth`` header; None when it is absent or empty ("{}").
    Base64url as the CLI sends it, with or without padding; standard base64 is accepted too."""
    if header is None or not header.strip() or header.strip() == "{}":
        return None
    raw = _b64decode(header.strip())
    try:
        config = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument(f"invalid X-Registry-Auth header: {exc}") from exc
    if not isinstance(config, dict):
        raise InvalidArgument("invalid X-Registry-Auth header: not a JSON object")
    username, password = _text(config, "username"), _text(config, "password")
    if not username and _text(config, "auth"):
        # The older form carries "user:password" base64-encoded in "auth".
        username, _, password = _b64decode(_text(config, "auth")).decode(errors="replace").partition(":")
    creds = Credentials(username=username, password=password,
                        identity_token=_text(config, "identitytoken"),
                        registry_token=_text(config, "registrytoken"),
                        server_address=_text(config, "serveraddress"))
    if not (creds.username or creds.password or creds.identity_token or creds.registry_token):
        return None
    return creds


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.urlsafe_b64decode, base64.standard_b64decode):
        try:
            return decode(padded.encode())
        except (binascii.Error, ValueError):
            continue
    raise InvalidArgument("invalid X-Registry-Auth header: not base64")


def _text(config: dict, key: str) -> str:
    value = config.get(key)
    return value if isinstance(value, str) else ""


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_SPACE = re.compile(r"[ \t]*")
_SEPARATORS = re.compile(r"[ \t,]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")


def parse_challenges(header: str | None) -> list[Challenge]:
    """Every challenge in a ``WWW-Authenticate`` value, in order; malformed parts are skipped."""
    text, pos, found = header or "", 0, []
    while pos < len(text):
        pos = _SEPARATORS.match(text, pos).end()
        scheme = _TOKEN.match(text, pos)
        if not scheme:
            pos += 1
            continue
        pos = scheme.end()
        params, pos = _parse_params(text, pos)
        found.append(Challenge(scheme.group().lower(), params))
    return found


def _parse_params(text: str, pos: int) -> tuple[dict[str, str], int]:
    params: dict[str, str] = {}
    while True:
        start = _SEPARATORS.match(text, pos).end()
        key = _TOKEN.match(text, start)
        if not key:
            token68 = _TOKEN68.match(text, start) if not params else None
            return params, (token68.end() if token68 else start)
        after = _SPACE.match(text, key.end()).end()
        if after >= len(text) or text[after] != "=":
            return params, pos          # the token starts the next challenge
        value_at = _SPACE.match(text, after + 1).end()
        quoted = _QUOTED.match(text, value_at)
        if quoted:
            value, pos = re.sub(r"\\(.)", r"\1", quoted.group(1)), quoted.end()
        else:
            bare = re.compile(r"[^,\s]*").match(text, value_at)
            value, pos = bare.group(), bare.end()
        params[key.group().lower()] = value
