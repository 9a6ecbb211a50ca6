"""Registry error replies turned into hako.errdefs errors, worded as dockerd words them.

A registry answers errors with ``{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest
unknown", "detail": …}]}``; Docker renders each as "<code in lower case with spaces>: <message>"
("manifest unknown: manifest unknown", "unauthorized: authentication required").

    status  error
    400     InvalidArgument
    401     Unauthorized
    403     Forbidden
    404     NotFound
    405     Unsupported       (e.g. DELETE on a registry with deletes disabled)
    429,502,503,504  Unavailable
    other   SystemError

Every error made here carries ``codes``: the registry's error codes ("MANIFEST_UNKNOWN", …), so
callers can tell a missing manifest from a missing repository without parsing messages.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from ... import errdefs

_BY_STATUS: dict[int, type[errdefs.HakoError]] = {
    400: errdefs.InvalidArgument,
    401: errdefs.Unauthorized,
    403: errdefs.Forbidden,
    404: errdefs.NotFound,
    405: errdefs.Unsupported,
    429: errdefs.Unavailable,
    502: errdefs.Unavailable,
    503: errdefs.Unavailable,
    504: errdefs.Unavailable,
}

# Worth another attempt: the registry or something in front of it is overloaded or restarting.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def registry_error(status: int, body: bytes, default_message: str = "") -> errdefs.HakoError:
    """The errdefs error for an error reply with ``status`` and ``body``."""
    entries = _error_entries(body)
    if entries:
        message = _render(entries)
    elif status == 401:
        message = default_message or "unauthorized: authentication required"
    else:
        message = default_message or f"received unexpected HTTP status: {status} {_reason(status)}"
    return with_codes(_BY_STATUS.get(status, errdefs.SystemError)(message),
                      [str(entry.get("code", "")) for entry in entries])


def with_codes(error: errdefs.HakoError, codes: list[str]) -> errdefs.HakoError:
    error.codes = tuple(codes)
    return error


def _error_entries(body: bytes) -> list[dict]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return []
    entries = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, dict)]


def _render(entries: list[dict]) -> str:
    # distribution's errcode.Errors: one error alone is printed plainly, several as a list.
    lines = [_render_one(entry) for entry in entries]
    if len(lines) == 1:
        return lines[0]
    return "errors:\n" + "".join(f"{line}\n" for line in lines)


def _render_one(entry: dict) -> str:
    code = str(entry.get("code") or "unknown").lower().replace("_", " ")
    message = str(entry.get("message") or "")
    return f"{code}: {message}" if message else code


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
