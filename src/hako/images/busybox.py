"""A minimal busybox root filesystem built from the host's static busybox (Debian busybox-static).

This is hako's local image source that needs no network: tests, benchmarks and the quick start
use it. The result has busybox at /bin/busybox, a symlink per applet, and the few files a shell
expects (/etc/passwd, /etc/group, /tmp).
"""

from __future__ import annotations

import os
import shutil
import subprocess

HOST_BUSYBOX = "/bin/busybox"
PASSWD = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n"


class BusyboxMissing(Exception):
    pass


def find_busybox(path: str = HOST_BUSYBOX) -> str:
    if not os.path.exists(path):
        raise BusyboxMissing(f"{path} not found: install Debian's busybox-static")
    out = subprocess.run(["file", "-L", path], capture_output=True, text=True).stdout if shutil.which("file") else ""
    if out and "statically linked" not in out and "static-pie" not in out:
        raise BusyboxMissing(f"{path} is not statically linked: install Debian's busybox-static")
    return path


def applets(busybox: str) -> list[str]:
    out = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def build_rootfs(dest: str, busybox: str = HOST_BUSYBOX) -> str:
    """Create the rootfs in ``dest`` (made if missing) and return its path."""
    busybox = find_busybox(busybox)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root",
              "var", "home", "run"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    os.chmod(os.path.join(dest, "root"), 0o700)
    shutil.copy2(busybox, os.path.join(dest, "bin/busybox"))
    for applet in applets(busybox):
        link = os.path.join(dest, applet)
        if applet == "bin/busybox" or os.path.lexists(link):
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("/bin/busybox", link)
    for name, content in (("etc/passwd", PASSWD), ("etc/group", GROUP), ("etc/hostname", "hako\n")):
        with open(os.path.join(dest, name), "w") as f:
            f.write(content)
    return dest
