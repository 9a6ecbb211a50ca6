"""The quick start's main job: a busybox container that greets from inside its namespaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

from .images.busybox import build_rootfs
from .runtime.defaults import default_spec

GREETING = (
    'echo "Hello from hako! I am PID $$ on host $(hostname), '
    'in a container with $(ls /proc | grep -c "^[0-9]") processes in sight."'
)


def main() -> int:
    bundle = tempfile.mkdtemp(prefix="hako-demo-")
    try:
        build_rootfs(os.path.join(bundle, "rootfs"))
        config = default_spec(args=["sh", "-c", GREETING], terminal=False)
        config["hostname"] = "hako-demo"
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        runtime = os.path.join(os.path.dirname(sys.executable), "hako-runtime")
        container_id = f"hako-demo-{os.getpid()}"
        return subprocess.run([runtime, "run", "--bundle", bundle, container_id]).returncode
    finally:
        shutil.rmtree(bundle, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
