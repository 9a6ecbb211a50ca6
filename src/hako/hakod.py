"""hakod: the daemon's entry point. Flags as dockerd names them; see `hakod --help`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

log = logging.getLogger("hakod")

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR,
          "fatal": logging.CRITICAL}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="hakod", description="hako's container engine daemon")
    parser.add_argument("-H", "--host", action="append", dest="hosts", help="daemon socket to listen on (unix:///path)")
    parser.add_argument("--data-root", help="root of persistent state (default /var/lib/hako)")
    parser.add_argument("--exec-root", help="root of runtime state (default /run/hako)")
    parser.add_argument("--config-file", help="daemon configuration file (default /etc/hako/daemon.json)")
    parser.add_argument("-l", "--log-level", choices=sorted(LEVELS), help="logging level")
    parser.add_argument("-D", "--debug", action="store_true", default=None, help="debug mode")
    parser.add_argument("--cgroup-parent", help="parent cgroup of every container (default /hako)")
    parser.add_argument("--insecure-registry", action="append", dest="insecure_registries",
                        help="registry reachable over plain HTTP or unverified TLS (host:port or CIDR)")
    parser.add_argument("--registry-mirror", action="append", dest="registry_mirrors",
                        help="registry mirror to try before docker.io (URL)")
    parser.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        from . import __version__

        print(f"hakod version {__version__}")
        return 0
    from .engine import config as config_mod

    try:
        config = config_mod.load(args.config_file, {"hosts": args.hosts, "data_root": args.data_root,
                                                    "exec_root": args.exec_root, "log_level": args.log_level,
                                                    "debug": args.debug, "cgroup_parent": args.cgroup_parent,
                                                    "insecure_registries": args.insecure_registries,
                                                    "registry_mirrors": args.registry_mirrors})
    except ValueError as exc:
        print(f"hakod: {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(level=LEVELS.get(config.log_level, logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if os.geteuid() != 0:
        print("hakod: must run as root", file=sys.stderr)
        return 1
    try:
        return asyncio.run(serve(config))
    except RuntimeError as exc:
        print(f"hakod: {exc}", file=sys.stderr)
        return 1


async def serve(config) -> int:
    from aiohttp import web

    from .api.server import make_app
    from .engine.engine import Engine

    engine = Engine(config)
    await engine.start()
    app = make_app(engine)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    sockets = []
    for host in config.hosts:
        if not host.startswith("unix://"):
            await engine.shutdown()
            raise RuntimeError(f"listening on {host!r} is not supported: use unix:///path")
        path = host[len("unix://"):]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)       # the data-root lock says no other hakod owns it
        site = web.UnixSite(runner, path)
        await site.start()
        os.chmod(path, 0o660)
        sockets.append(path)
    log.info("hakod listening on %s (data root %s)", ", ".join(sockets), config.data_root)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down; containers keep running")
    await runner.cleanup()
    await engine.shutdown()
    for path in sockets:
        try:
            os.unlink(path)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
