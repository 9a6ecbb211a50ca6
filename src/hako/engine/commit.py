"""`docker commit`: a container's changes become a layer, and its configuration a new image.

    layer = snapshot_layer(engine, container_id)            # blocking: run it in a thread
    image = await commit(engine, container, CommitOptions(repo_tag="app:1", comment="…"))

snapshot_layer is also how the builder turns a RUN step into a layer. The empty files hakod
made in the container's root as mount points for /etc/hosts, /etc/hostname and
/etc/resolv.conf are left out (Docker keeps them in an init layer that is never committed).
"""

from __future__ import annotations

import asyncio
import os
import tarfile
import tempfile
from dataclasses import dataclass, field

from ..images.changes import apply_changes
from ..images.store import now_rfc3339

STUBS = ("etc/hosts", "etc/hostname", "etc/resolv.conf")


def snapshot_layer(engine, key: str):
    """The writable snapshot ``key``'s changes, as a new layer on its parent (a Layer)."""
    layers = engine.layers
    parent = layers.parent(key)
    stubs = init_stubs(layers, key, parent)
    with tempfile.NamedTemporaryFile(dir=engine.spool_dir(), prefix="commit-") as raw:
        layers.diff_tar(key, raw)
        raw.flush()
        if not stubs:
            return engine.add_layer(raw.name, parent)
        raw.seek(0)
        with tempfile.NamedTemporaryFile(dir=engine.spool_dir(), prefix="commit-") as clean:
            _copy_without(raw, clean, stubs, keep_etc=_etc_has_more(layers, key, stubs, parent))
            clean.flush()
            return engine.add_layer(clean.name, parent)


def _in_lowers(layers, parent: str | None, rel: str) -> bool:
    if parent is None:
        return False
    return any(os.path.lexists(os.path.join(d, rel)) for d in layers.lower_dirs(parent))


def init_stubs(layers, key: str, parent: str | None) -> set[str]:
    """The empty files hakod made in snapshot ``key`` as mount points for /etc/hosts, hostname
    and resolv.conf ("etc/hosts"…): what Docker's init layer holds, left out of diff and commit."""
    upper = layers.upper_dir(key)
    found = set()
    for rel in STUBS:
        try:
            st = os.lstat(os.path.join(upper, rel))
        except FileNotFoundError:
            continue
        if st.st_size == 0 and os.path.isfile(os.path.join(upper, rel)) and not _in_lowers(layers, parent, rel):
            found.add(rel)
    return found


def _etc_has_more(layers, key: str, stubs: set[str], parent: str | None) -> bool:
    """Whether etc/ itself belongs in the layer: something else changed in it, or it is new."""
    upper_etc = os.path.join(layers.upper_dir(key), "etc")
    others = [n for n in os.listdir(upper_etc) if f"etc/{n}" not in stubs]
    return bool(others) or not _in_lowers(layers, parent, "etc")


def _copy_without(src, dst, skipped: set[str], keep_etc: bool) -> None:
    with tarfile.open(fileobj=src, mode="r|") as tin, \
            tarfile.open(fileobj=dst, mode="w|", format=tarfile.PAX_FORMAT) as tout:
        for member in tin:
            name = member.name.rstrip("/").removeprefix("./")
            if name in skipped or (name == "etc" and not keep_etc):
                continue
            tout.addfile(member, tin.extractfile(member) if member.isreg() else None)


@dataclass
class CommitOptions:
    repo_tag: str | None = None
    comment: str = ""
    author: str = ""
    changes: list[str] = field(default_factory=list)
    pause: bool = True
    config: dict = field(default_factory=dict)     # Docker's Config JSON from the request body


def container_run_config(container, image_config: dict) -> dict:
    """The container's configuration as an image's `config` section (Docker's field names)."""
    cfg = container.config
    out = {
        "Hostname": cfg.hostname or container.id[:12], "Domainname": cfg.domainname, "User": cfg.user,
        "AttachStdin": cfg.attach_stdin, "AttachStdout": cfg.attach_stdout, "AttachStderr": cfg.attach_stderr,
        "Tty": cfg.tty, "OpenStdin": cfg.open_stdin, "StdinOnce": cfg.stdin_once,
        "Env": list(cfg.env) or None, "Cmd": cfg.cmd, "Image": cfg.image or container.image_id,
        "Volumes": dict(cfg.volumes) or None, "WorkingDir": cfg.working_dir,
        "Entrypoint": cfg.entrypoint or None, "OnBuild": image_config.get("OnBuild"),
        "Labels": dict(cfg.labels) or None,
    }
    if cfg.exposed_ports:
        out["ExposedPorts"] = dict(cfg.exposed_ports)
    if cfg.stop_signal:
        out["StopSignal"] = cfg.stop_signal
    if cfg.healthcheck:
        hc = cfg.healthcheck
        out["Healthcheck"] = {"Test": hc.test, "Interval": hc.interval, "Timeout": hc.timeout,
                              "StartPeriod": hc.start_period, "Retries": hc.retries}
    return out


def _merge_config(base: dict, override: dict) -> dict:
    """Docker's merge of the request's config over the container's: set fields win."""
    merged = dict(base)
    for key, value in (override or {}).items():
        if value not in (None, "", [], {}) and value is not False:
            merged[key] = value
    return merged


async def commit(engine, container, options: CommitOptions):
    if options.repo_tag:
        from ..images import reference

        reference.parse(options.repo_tag)
    image = engine.images.get(container.image_id)
    base = image.config
    paused_here = False
    if options.pause and container.state.status == "running":
        await engine.containers.pause(container)
        paused_here = True
    try:
        layer = await asyncio.to_thread(snapshot_layer, engine, container.id)
    finally:
        if paused_here:
            await engine.containers.unpause(container)
    container_config = container_run_config(container, base.get("config") or {})
    run_config = _merge_config(container_config, options.config)
    run_config = apply_changes(run_config, options.changes)
    created = now_rfc3339()
    history = list(base.get("history") or [])
    entry = {"created": created, "created_by": " ".join([container.path, *container.args]).strip()}
    if options.author:
        entry["author"] = options.author
    if options.comment:
        entry["comment"] = options.comment
    history.append(entry)
    diff_ids = list((base.get("rootfs") or {}).get("diff_ids") or []) + [layer.diff_id]
    config = {
        "architecture": base.get("architecture") or "amd64",
        "author": options.author or None,
        "comment": options.comment or None,
        "config": run_config,
        "container": container.id,
        "container_config": container_config,
        "created": created,
        "docker_version": "hako",
        "history": history,
        "os": base.get("os") or "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config = {k: v for k, v in config.items() if v is not None}
    result = engine.images.add(config, layer.chain_id, options.repo_tag)
    engine.events.emit("container", "commit", container.id, comment=options.comment,
                       imageID=result.id, imageRef=options.repo_tag or "", name=container.name)
    return result
