"""A volume as the engine knows it: Docker's local driver's volume, without Docker's JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LOCAL = "local"
# Docker 23+ marks the volumes it makes for `-v /path` and an image's VOLUME with this label;
# `volume prune` removes only those unless asked for all.
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


@dataclass
class Volume:
    name: str
    mountpoint: str                # <data root>/volumes/<name>/_data
    created: float
    driver: str = LOCAL
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)    # the local driver's type, o, device

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels
