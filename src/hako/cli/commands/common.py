"""Helpers several commands share: filters, the --format help text, per-object error reports."""

from __future__ import annotations

from hako.client.errors import APIError, ClientError

from ..command import StatusError

FORMAT_HELP = ("Format output using a custom template: 'table', 'table TEMPLATE', 'json', "
               "'TEMPLATE'")


def parse_filters(items: list[str]) -> dict:
    """``["status=exited", "label=a=b"]`` -> ``{"status": {"exited": True}, "label": {"a=b": True}}``,
    the shape of the ``filters`` query parameter."""
    filters: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise StatusError(125, f'invalid argument "{item}" for "-f, --filter" flag: bad format '
                              "of filter (expected name=value)")
        filters.setdefault(key.strip().lower(), {})[value.strip()] = True
    return filters


def encode_filters(filters: dict) -> str:
    from hako.client import jsoncodec
    return jsoncodec.dumps(filters)


def for_each(cli, names, action, echo: bool = True) -> list[str]:
    """Apply ``action(name)`` to each name; print the name on success (as docker's
    stop/kill/rm/pause … do) and collect error lines; return the failures' messages."""
    errors = []
    for name in names:
        try:
            action(name)
        except APIError as exc:
            errors.append(f"Error response from daemon: {exc.message}")
            continue
        except ClientError as exc:
            errors.append(str(exc))
            continue
        if echo:
            cli.out.write(name + "\n")
    return errors


def finish(errors: list[str], status: int = 1) -> int:
    if errors:
        raise StatusError(status, "\n".join(errors))
    return 0
