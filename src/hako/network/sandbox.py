"""A container's network namespace, kept alive as a file under the exec root.

    <exec_root>/netns/<container id prefix>   a bind mount of the namespace (like `ip netns add`)

The OCI spec names this file ({"type": "network", "path": …}), so the runtime joins it, and it
outlives hakod (live restore) until hakod unmounts it after the container's exit.

unshare(CLONE_NEWNET) and setns(2) change the calling *thread* only; hakod must never move its
event loop thread or a pooled thread into a container's namespace. Every such step runs in a fresh
thread (``in_thread``) that ends afterwards.
"""

from __future__ import annotations

import asyncio
import os
import threading

from ..linux import netdev, syscalls

HOST_NETNS = "/proc/self/ns/net"     # hakod's own namespace: the host's


async def in_thread(fn, *args):
    """Run ``fn(*args)`` in a new thread that ends with it (its namespace dies with it)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def run():
        try:
            result = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=run, name="hako-netns", daemon=True).start()
    return await future


def _settle(future, result, exc):
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def create_here(path: str) -> None:
    """Move the calling thread into a new network namespace, bring its loopback up, and keep
    the namespace as the file ``path``. The thread stays inside: end it or call enter()."""
    syscalls.unshare(syscalls.CLONE_NEWNET)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    os.close(fd)
    try:
        syscalls.mount("/proc/thread-self/ns/net", path, None, syscalls.MS_BIND)
    except OSError:
        os.unlink(path)
        raise
    netdev.set_up("lo")


def enter(path: str) -> None:
    """Move the calling thread into the namespace kept at ``path``."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns(fd, syscalls.CLONE_NEWNET)
    finally:
        os.close(fd)


def destroy(path: str) -> None:
    """Drop the file's hold on the namespace; the kernel frees it (and the veth ends inside)
    once no process is left in it."""
    try:
        syscalls.umount(path, syscalls.MNT_DETACH)
    except OSError:
        pass
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def is_mounted(path: str) -> bool:
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except OSError:
        return False
