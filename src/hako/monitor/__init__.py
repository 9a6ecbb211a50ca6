"""The per-process monitor (hako's conmon / containerd-shim) and the zygote that forks monitors.

    hakod ──request + status pipe (SCM_RIGHTS)──▶ zygote ──fork, setsid, fork──▶ monitor
    hakod ◀──"created" / error on the status pipe──────────────────────────────── monitor
    hakod ──unix socket: attach, start, resize, watch──────────────────────────▶ monitor

A monitor owns one process, a container's init or an exec'd process: it runs it through the
runtime library, holds its stdio or pty, writes the json-file log, serves attach, and records the
exit status in ``exit.json``. Monitors are reparented away from hakod, so they outlive it.
"""
