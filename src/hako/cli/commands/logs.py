"""`hako logs`: a container's output, demultiplexed unless the container has a TTY.

Calls: inspect (to learn whether the container has a TTY, which decides the framing), then
``GET /containers/{id}/logs?stderr=1&stdout=1&tail=all`` plus follow/timestamps/since/until.
"""

from __future__ import annotations

from hako.client.mux import STDERR, Demuxer

from ..command import Command, exactly
from ..flags import STRING, Flag
from ..timestamps import since_until


def logs(cli, opts, args) -> int:
    client = cli.client
    info = client.get_json(f"/containers/{args[0]}/json")
    tty = bool((info.get("Config") or {}).get("Tty"))
    query: dict = {}
    if opts["details"]:
        query["details"] = "1"
    if opts["follow"]:
        query["follow"] = "1"
    query.update(since_until(opts))
    query["stderr"] = "1"
    query["stdout"] = "1"
    query["tail"] = opts["tail"]
    if opts["timestamps"]:
        query["timestamps"] = "1"
    resp = client.request("GET", f"/containers/{info['Id']}/logs", query)
    demux = None if tty else Demuxer()
    try:
        while True:
            data = resp.read_some()
            if not data:
                break
            if demux is None:
                cli.out.write_bytes(data)
                continue
            for stream, payload in demux.feed(data):
                (cli.err if stream == STDERR else cli.out).write_bytes(payload)
    finally:
        resp.close()
    return 0


LOGS = Command("[OPTIONS] CONTAINER", "Fetch the logs of a container",
               flags=(Flag("details", None, help="Show extra details provided to logs"),
                      Flag("follow", "f", help="Follow log output"),
                      Flag("since", None, STRING, help='Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'),
                      Flag("tail", "n", STRING, default="all", help='Number of lines to show from the end of the logs (default "all")'),
                      Flag("timestamps", "t", help="Show timestamps"),
                      Flag("until", None, STRING, help='Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')),
               args=exactly(1), action=logs, aliases=("container logs", "logs"))
