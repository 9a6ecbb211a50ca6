"""Error kinds shared by every layer of the daemon, so the API maps them to statuses in one place.

    HakoError
    ├── InvalidArgument   400  bad input: malformed JSON, an invalid name, an impossible limit
    ├── Unauthorized      401  a registry refused the credentials (or wanted some)
    ├── Forbidden         403
    ├── NotFound          404  no such container, image, exec …
    ├── Conflict          409  a name in use, an image used by a container, a running container
    ├── Unsupported       501  input hako understands but does not support yet
    ├── Unavailable       503  e.g. swarm endpoints on a node that is not a swarm manager
    └── SystemError       500  the kernel or the runtime refused
"""

from __future__ import annotations


class HakoError(Exception):
    status = 500


class InvalidArgument(HakoError):
    status = 400


class Unauthorized(HakoError):
    status = 401


class Forbidden(HakoError):
    status = 403


class NotFound(HakoError):
    status = 404


class Conflict(HakoError):
    status = 409


class Unsupported(HakoError):
    status = 501


class Unavailable(HakoError):
    status = 503


class SystemError(HakoError):  # noqa: A001
    status = 500
