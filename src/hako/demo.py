"""The quick start's main job: hakod runs a container from the local busybox image, which greets.

It starts hakod on its default socket if none answers there (and leaves it running, as a service
would be), imports busybox:latest built from the host's static busybox if the image is missing,
then runs the greeting — all through the hako CLI, as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from .images.busybox import build_rootfs

LOG = "/var/log/hako/hakod.log"
GREETING = (
    'echo "Hello from hako! I am PID $$ in container $(hostname), '
    'started by hakod from the local busybox image."'
)


def _hako(*args: str, quiet: bool = True) -> int:
    """Run the hako CLI, as a user would."""
    hako = os.path.join(os.path.dirname(sys.executable), "hako")
    out = subprocess.DEVNULL if quiet else None
    return subprocess.run([hako, *args], stdout=out, stderr=out).returncode


def _ping() -> bool:
    return _hako("version") == 0


def _start_hakod() -> None:
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    with open(LOG, "ab") as log:
        subprocess.Popen([sys.executable, "-m", "hako.hakod"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    print(f"started hakod (log: {LOG})", file=sys.stderr)


def _import_busybox() -> None:
    top = tempfile.mkdtemp(prefix="hako-busybox-")
    try:
        rootfs = build_rootfs(os.path.join(top, "rootfs"))
        tar_path = os.path.join(top, "busybox.tar")
        with tarfile.open(tar_path, "w") as tar:
            tar.add(rootfs, arcname=".")
        if _hako("import", "-c", 'CMD ["sh"]', tar_path, "busybox:latest") != 0:
            raise RuntimeError("importing busybox failed")
        print("imported busybox:latest", file=sys.stderr)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def main() -> int:
    if not _ping():
        _start_hakod()
        deadline = time.monotonic() + 30
        while not _ping():
            if time.monotonic() > deadline:
                print(f"hakod did not start; see {LOG}", file=sys.stderr)
                return 1
            time.sleep(0.05)
    if _hako("image", "inspect", "busybox:latest") != 0:
        _import_busybox()
    return _hako("run", "--rm", "--hostname", "hako-demo", "busybox", "sh", "-c", GREETING, quiet=False)


if __name__ == "__main__":
    sys.exit(main())
