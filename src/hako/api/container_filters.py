"""The filters of GET /containers/json (`docker ps --filter`): checked up front, then matched per container."""

from __future__ import annotations

import re

from ..errdefs import InvalidArgument
from .server import label_matches


_FILTERS = ("id", "name", "label", "status", "exited", "ancestor", "before", "since", "health",
            "is-task", "network", "volume", "publish", "expose", "isolation")


_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def check_filters(filters: dict[str, list[str]]) -> None:
    """Refuse a bad filter up front, as dockerd does, and not only when a container meets it."""
    for key, values in filters.items():
        if key not in _FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
        if key == "status":
            for v in values:
                if v not in _STATUSES:
                    raise InvalidArgument(f"Invalid filter 'status={v}'")


def matches(engine, container, filters: dict[str, list[str]]) -> bool:
    for key, values in filters.items():
        if not values:
            continue
        if key == "id" and not any(container.id.startswith(v) for v in values):
            return False
        if key == "name" and not any(re.search(v, container.name) or re.search(v, "/" + container.name) for v in values):
            return False
        if key == "label" and not all(label_matches(container.config.labels, v) for v in values):
            return False
        if key == "status":
            if container.state.status not in values:
                return False
        if key == "exited":
            if container.state.status != "exited" or str(container.state.exit_code) not in values:
                return False
        if key == "ancestor":
            if not any(_is_ancestor(engine, container, v) for v in values):
                return False
        if key in ("before", "since"):
            other = engine.containers.get(values[0])
            if key == "before" and not container.created < other.created:
                return False
            if key == "since" and not container.created > other.created:
                return False
        if key == "health":
            status = container.state.health.status if container.state.health else "none"
            if status not in values:
                return False
        if key == "is-task" and "true" in values:
            return False
        if key in ("network", "volume", "publish", "expose") and values:
            if key == "network" and any(v == container.host_config.network_mode for v in values):
                continue
            return False
    return True


def _is_ancestor(engine, container, name: str) -> bool:
    image = engine.images.find(name)
    return image is not None and image.id == container.image_id
