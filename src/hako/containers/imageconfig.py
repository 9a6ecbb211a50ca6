"""A container made from an image takes the image's run config where the create request is silent."""

from __future__ import annotations

from .model import Container


def merge_image_config(container: Container, run_config: dict) -> None:
    """Fill what the create request left unset from the image, once, as Docker does: the container
    keeps running as it was made even if its image is later deleted."""
    cfg = container.config
    if cfg.entrypoint is None:
        cfg.entrypoint = run_config.get("Entrypoint")
        if cfg.cmd is None:
            cfg.cmd = run_config.get("Cmd")
    elif cfg.cmd is None:
        cfg.cmd = []           # an entrypoint given at create drops the image's Cmd
    cfg.env = merge_env(run_config.get("Env"), cfg.env)
    cfg.working_dir = cfg.working_dir or run_config.get("WorkingDir") or ""
    cfg.user = cfg.user or run_config.get("User") or ""
    cfg.labels = {**(run_config.get("Labels") or {}), **cfg.labels}
    if not cfg.exposed_ports and run_config.get("ExposedPorts"):
        cfg.exposed_ports = dict(run_config["ExposedPorts"])
    if not cfg.volumes and run_config.get("Volumes"):
        cfg.volumes = dict(run_config["Volumes"])


def merge_env(base: list[str] | None, overrides: list[str]) -> list[str]:
    """``NAME=value`` lists: each override replaces the base entry of the same name, in its place
    at the end, as Docker merges an image's Env with the container's or an exec's."""
    env = list(base or [])
    for item in overrides:
        key = item.split("=", 1)[0]
        env = [e for e in env if e.split("=", 1)[0] != key] + [item]
    return env
