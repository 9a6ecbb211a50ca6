"""The runtime's exceptions.

    RuntimeError_ (HakoRuntimeError)
    ├── ConfigError        the config.json or a process spec is malformed or breaks the schema
    ├── NotFound           no container with that id under --root
    ├── AlreadyExists      the id is taken
    ├── InvalidState       the operation does not fit the container's status (start twice, ...)
    ├── ContainerError     setting the container up failed (a mount, a missing binary, a hook)
    └── CgroupError        the kernel refused a limit (cgroups/base.py)

The CLI prints ``str(exc)`` as one line and exits 1, as runc does.
"""


class HakoRuntimeError(Exception):
    pass


class ConfigError(HakoRuntimeError):
    pass


class NotFound(HakoRuntimeError):
    pass


class AlreadyExists(HakoRuntimeError):
    pass


class InvalidState(HakoRuntimeError):
    pass


class ContainerError(HakoRuntimeError):
    pass
