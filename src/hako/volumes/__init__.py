"""Named and anonymous volumes with Docker's local driver.

    from hako.volumes import VolumeService
    volumes = VolumeService(store, "<data root>/volumes", users=containers_using)
    volume = volumes.create("vol1", labels={"a": "b"})
    path = volumes.acquire("vol1", container_id)     # at start; mounts it if it has options
    volumes.release("vol1", container_id)            # at stop

See service.py for the lifecycle, local.py for the driver, copyup.py for filling a new volume.
"""

from .model import ANONYMOUS_LABEL, LOCAL, Volume
from .service import VolumeService, check_name

__all__ = ["VolumeService", "Volume", "LOCAL", "ANONYMOUS_LABEL", "check_name"]
