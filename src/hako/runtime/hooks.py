"""OCI lifecycle hooks: run each with the container's state JSON on stdin, honouring its timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from .errors import ContainerError


def run_hooks(hooks: list[dict], kind: str, state: dict) -> None:
    """Run ``hooks`` (one kind's list from config.hooks) in order; the first failure raises."""
    payload = json.dumps(state).encode()
    for i, hook in enumerate(hooks):
        args = hook.get("args") or [hook["path"]]
        env = dict(e.split("=", 1) for e in hook.get("env", []))
        try:
            # A session of its own, so a timeout kills the hook's children too: they hold its
            # output pipes, and a leftover `sleep` would outlive the failed container.
            proc = subprocess.Popen(args, executable=hook["path"], env=env, start_new_session=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise ContainerError(f"{kind} hook #{i} ({hook['path']}): {exc.strerror}") from None
        try:
            stdout, stderr = proc.communicate(payload, timeout=hook.get("timeout"))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ContainerError(f"{kind} hook #{i} ({hook['path']}): timed out after {hook['timeout']}s") from None
        if proc.returncode != 0:
            detail = (stderr or stdout).decode(errors="replace").strip().splitlines()
            reason = f": {detail[-1]}" if detail else ""
            raise ContainerError(f"{kind} hook #{i} ({hook['path']}): exit status {proc.returncode}{reason}")


def run_poststop(hooks: list[dict], state: dict, warn) -> None:
    """poststop failures are only logged: the container is already gone (runtime-spec)."""
    for hook in hooks:
        try:
            run_hooks([hook], "poststop", state)
        except ContainerError as exc:
            warn(str(exc))

