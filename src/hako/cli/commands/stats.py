"""`hako stats`: CPU, memory, network, block I/O and pids per container.

``--no-stream`` takes one sample per container (``stats?stream=0``: the daemon measures twice
so CPU % can be computed). Streaming opens one ``stats?stream=1`` per container, each read by a
thread, and redraws the table in place every half second, as docker does.
The numbers are computed as docker's CLI computes them (stats_helpers.go).
"""

from __future__ import annotations

from hako.client.errors import APIError, ClientError

from ..command import Command, StatusError
from ..flags import STRING, Flag
from ..formatter import render_rows
from ..gofmt import truncate_id
from ..units import bytes_size, human_size
from .common import FORMAT_HELP

STATS_HEADERS = {"ID": "CONTAINER ID", "Name": "NAME", "Container": "CONTAINER",
                 "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
                 "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
COLUMNS = [("ID", "CONTAINER ID"), ("Name", "NAME"), ("CPUPerc", "CPU %"),
           ("MemUsage", "MEM USAGE / LIMIT"), ("MemPerc", "MEM %"), ("NetIO", "NET I/O"),
           ("BlockIO", "BLOCK I/O"), ("PIDs", "PIDS")]


class StatsRow:
    """Derived numbers of one stats sample, formatted on access."""

    GO_TYPE = "*container.statsContext"  # the type docker's template errors name

    def __init__(self, container: str, sample: dict | None, trunc: bool = True) -> None:
        self.container = container
        self.trunc = trunc
        self.valid = sample is not None
        self.update(sample or {})

    def update(self, s: dict) -> None:
        self.id = s.get("id", self.container)
        self.name = s.get("name", "")
        self.cpu = cpu_percent(s)
        self.mem, self.mem_limit = memory_usage(s), (s.get("memory_stats") or {}).get("limit", 0) or 0
        self.mem_percent = self.mem / self.mem_limit * 100.0 if self.mem_limit else 0.0
        self.rx, self.tx = network_io(s)
        self.blk_read, self.blk_write = block_io(s)
        self.pids = (s.get("pids_stats") or {}).get("current", 0) or 0

    @property
    def Container(self) -> str:
        return self.container

    @property
    def ID(self) -> str:
        return truncate_id(self.id) if self.trunc else self.id

    @property
    def Name(self) -> str:
        name = self.name
        return name[1:] if len(name) > 1 and name[0] == "/" else "--"

    @property
    def CPUPerc(self) -> str:
        return f"{self.cpu:.2f}%" if self.valid else "--"

    @property
    def MemUsage(self) -> str:
        return f"{bytes_size(self.mem)} / {bytes_size(self.mem_limit)}" if self.valid else "-- / --"

    @property
    def MemPerc(self) -> str:
        return f"{self.mem_percent:.2f}%" if self.valid else "--"

    @property
    def NetIO(self) -> str:
        return f"{human_size(self.rx)} / {human_size(self.tx)}" if self.valid else "--"

    @property
    def BlockIO(self) -> str:
        return f"{human_size(self.blk_read)} / {human_size(self.blk_write)}" if self.valid else "--"

    @property
    def PIDs(self) -> str:
        return str(self.pids) if self.valid else "--"

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in sorted(STATS_HEADERS)}


def cpu_percent(s: dict) -> float:
    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    cpu_delta = ((cpu.get("cpu_usage") or {}).get("total_usage", 0)
                 - (pre.get("cpu_usage") or {}).get("total_usage", 0))
    system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [])
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_usage(s: dict) -> int:
    """Usage without the page cache: cgroup v1 subtracts total_inactive_file, v2 inactive_file."""
    mem = s.get("memory_stats") or {}
    usage, stats = mem.get("usage", 0) or 0, mem.get("stats") or {}
    if "total_inactive_file" in stats and stats["total_inactive_file"] < usage:
        return usage - stats["total_inactive_file"]
    if stats.get("inactive_file", 0) < usage:
        return usage - stats.get("inactive_file", 0)
    return usage


def network_io(s: dict) -> tuple[int, int]:
    networks = s.get("networks") or {}
    return (sum(n.get("rx_bytes", 0) for n in networks.values()),
            sum(n.get("tx_bytes", 0) for n in networks.values()))


def block_io(s: dict) -> tuple[int, int]:
    read = write = 0
    for entry in (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = (entry.get("op") or "")[:1].lower()
        if op == "r":
            read += entry.get("value", 0)
        elif op == "w":
            write += entry.get("value", 0)
    return read, write


def _containers(cli, opts, args) -> list[str]:
    if args:
        return list(args)
    query = {"all": "1"} if opts["all"] else None
    return [c["Id"][:12] for c in cli.client.get_json("/containers/json", query)]


def stats(cli, opts, args) -> int:
    names = _containers(cli, opts, args)
    trunc = not opts["no_trunc"]
    if opts["no_stream"]:
        rows, errors = [], []
        for name in names:
            try:
                sample = cli.client.get_json(f"/containers/{name}/stats", {"stream": "0"})
            except APIError as exc:
                errors.append(f"Error response from daemon: {exc.message}")
                continue
            rows.append(StatsRow(name, sample, trunc))
        if errors and args:
            raise StatusError(1, "\n".join(errors))
        cli.out.write(render_rows(opts["format"], rows, COLUMNS, STATS_HEADERS))
        return 0
    return _stream(cli, opts, names, trunc)


def _stream(cli, opts, names, trunc) -> int:
    import threading
    import time

    rows = {name: StatsRow(name, None, trunc) for name in names}
    lock = threading.Lock()

    def follow(name: str) -> None:
        from hako.client.api import decode_json
        try:
            conn = cli.client.new_connection()
            resp = cli.client.request("GET", f"/containers/{name}/stats", {"stream": "1"}, conn=conn)
            for line in resp.lines():
                sample = decode_json(line)
                with lock:
                    rows[name].valid = True
                    rows[name].update(sample)
        except ClientError:
            with lock:
                rows[name].valid = False

    cli.client.ping()  # negotiate once, before the threads share the client
    for name in names:
        threading.Thread(target=follow, args=(name,), daemon=True).start()
    try:
        while True:
            time.sleep(0.5)
            with lock:
                text = render_rows(opts["format"], list(rows.values()), COLUMNS, STATS_HEADERS)
            # Like docker: cursor home, each line cleared to its end, the rest of the screen
            # cleared, so the table is redrawn in place without flicker.
            lines = "".join(line + "\x1b[K\n" for line in text.splitlines())
            cli.out.write("\x1b[H" + lines + "\x1b[J")
    except KeyboardInterrupt:
        return 0


STATS = Command("[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics",
                flags=(Flag("all", "a", help="Show all containers (default shows just running)"),
                       Flag("format", None, STRING, help=FORMAT_HELP),
                       Flag("no-stream", None, help="Disable streaming stats and only pull the first result"),
                       Flag("no-trunc", None, help="Do not truncate output")),
                action=stats, aliases=("container stats", "stats"))
