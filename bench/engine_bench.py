"""hakod side by side with Docker (Debian's dockerd 20.10 + containerd 1.6) in one run.

    sudo .venv/bin/python bench/engine_bench.py [-n 20] [--json results.json]

The benchmark starts both engines itself, each on its own socket, data root, exec root and cgroup
parent (hakod: /run/hkb, /var/tmp/hkb, /hako-bench; dockerd: /run/dkb, /var/tmp/dkb,
/docker-bench), imports the same busybox rootfs into both, and measures, interleaving the engines
so machine noise hits them alike:

  cli      `run --rm busybox true`: the hako CLI against hakod, and the real docker CLI against
           hakod and against dockerd
  exec     `run -d busybox sleep` and `exec <id> true` with the same three clients
  sdk      the docker SDK's create+start+wait+remove, sequentially and from concurrent threads:
           containers per second
  memory   RSS and PSS of each engine idle and with 50 running `sleep` containers: hakod + zygote
           + monitors against dockerd + containerd + shims, and per-container helper PSS
  ps       `docker ps -a` and GET /containers/json?all=1 with 500 created containers

Prints a Markdown table of medians with ratio = hako / docker (below 1 is faster or smaller for
times and memory; for rates above 1 is better) and writes everything, samples included, to --json.
Not a test: nothing here asserts a time. Both engines are stopped and cleaned (processes by pid,
mounts, dirs, cgroup parents) on success, failure, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

from engine_daemons import DockerDaemon, Engine, HakoDaemon  # noqa: E402
from engine_memory import usage  # noqa: E402
from hako.images.busybox import build_rootfs  # noqa: E402

API_VERSION = "1.41"  # dockerd 20.10's newest; hakod speaks it too, so the SDK sends the same requests
STOP = threading.Event()  # set on Ctrl-C so worker threads stop starting new containers


@dataclass
class Row:
    """One line of the table: a hako figure, the Docker figure it is compared with, and their ratio."""

    section: str
    what: str
    unit: str
    hako: float | None
    docker: float | None
    note: str = ""
    samples: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.hako is None or not self.docker:
            return None
        return self.hako / self.docker


class Results:
    def __init__(self):
        self.rows: list[Row] = []
        self.errors: list[str] = []

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.what}: hako {fmt(row.hako)} / docker {fmt(row.docker)} {row.unit}"
              + (f" ({row.note})" if row.note else ""), flush=True)


# timing helpers
def median(samples: list[float]) -> float | None:
    return statistics.median(samples) if samples else None


def p90(samples: list[float]) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.9) - 1)]


def timed_cmd(argv: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    return (time.perf_counter() - start) * 1000, result


class Client:
    """One way of talking to one engine from the command line: argv prefix + environment."""

    def __init__(self, label: str, engine: Engine, argv: list[str], env: dict):
        self.label, self.engine, self.argv, self.env = label, engine, argv, env
        self.broken: str | None = None  # why this client is reported n/a

    def run(self, *args: str) -> tuple[float, str]:
        """Time one command; returns (ms, stdout) or marks the client broken and returns (nan, '')."""
        if self.broken:
            return float("nan"), ""
        elapsed, result = timed_cmd(self.argv + list(args), self.env)
        if result.returncode != 0:
            self.broken = f"`{' '.join(args[:3])}` failed ({result.returncode}): {result.stderr.strip()[-300:]}"
            return float("nan"), ""
        return elapsed, result.stdout.strip()


def clients(hako: HakoDaemon, docker: DockerDaemon) -> tuple[Client, Client, Client]:
    return (Client("hako CLI → hakod", hako, hako.hako_cli(), dict(os.environ)),
            Client("docker CLI → hakod", hako, [hako.docker_cli], hako.env),
            Client("docker CLI → dockerd", docker, [docker.docker_cli], docker.env))


def interleaved(n: int, warmup: int, tasks: list) -> None:
    """Run each task n+warmup times, rotating the order each round so no engine always goes first."""
    for i in range(n + warmup):
        order = tasks[i % len(tasks):] + tasks[: i % len(tasks)]
        for task in order:
            if STOP.is_set():
                raise KeyboardInterrupt
            task(i >= warmup)


# sections
def bench_cli(results: Results, hako: HakoDaemon, docker: DockerDaemon, n: int) -> None:
    print("cli: run --rm busybox true", flush=True)
    trio = clients(hako, docker)
    samples: dict[str, list[float]] = {c.label: [] for c in trio}

    def task(client: Client):
        def go(keep: bool):
            ms, _ = client.run("run", "--rm", "busybox", "true")
            if keep and not client.broken:
                samples[client.label].append(ms)
        return go

    interleaved(n, 2, [task(c) for c in trio])
    hako_cli, docker_hakod, docker_dockerd = trio
    ref = median(samples[docker_dockerd.label])
    results.add(Row("cli", "`hako run --rm busybox true` (hako CLI → hakod) vs docker CLI → dockerd", "ms",
                    None if hako_cli.broken else median(samples[hako_cli.label]), ref,
                    note=f"n/a: {hako_cli.broken}" if hako_cli.broken else "", samples=samples))
    results.add(Row("cli", "`docker run --rm busybox true`, docker CLI → hakod vs → dockerd", "ms",
                    None if docker_hakod.broken else median(samples[docker_hakod.label]), ref,
                    note=f"n/a: {docker_hakod.broken}" if docker_hakod.broken else ""))
    for c in trio:
        print(f"    p90 {c.label}: {fmt(p90(samples[c.label]))} ms", flush=True)


def bench_exec(results: Results, hako: HakoDaemon, docker: DockerDaemon, n: int) -> None:
    print("exec: run -d busybox sleep 3600, then exec <id> true", flush=True)
    trio = clients(hako, docker)
    run_ms: dict[str, list[float]] = {c.label: [] for c in trio}
    exec_ms: dict[str, list[float]] = {c.label: [] for c in trio}

    def task(client: Client):
        def go(keep: bool):
            ms, cid = client.run("run", "-d", "busybox", "sleep", "3600")
            if client.broken:
                return
            try:
                ems, _ = client.run("exec", cid, "true")
                if keep and not client.broken:
                    run_ms[client.label].append(ms)
                    exec_ms[client.label].append(ems)
            finally:
                client.engine.api("DELETE", f"/containers/{cid}?force=1")
        return go

    interleaved(n, 1, [task(c) for c in trio])
    hako_cli, docker_hakod, docker_dockerd = trio
    for what, table in (("run -d busybox sleep 3600", run_ms), ("exec <id> true", exec_ms)):
        ref = median(table[docker_dockerd.label])
        results.add(Row("exec", f"`{what}`: hako CLI → hakod vs docker CLI → dockerd", "ms",
                        None if hako_cli.broken else median(table[hako_cli.label]), ref,
                        note=f"n/a: {hako_cli.broken}" if hako_cli.broken else "", samples=table))
        results.add(Row("exec", f"`{what}`: docker CLI → hakod vs → dockerd", "ms",
                        None if docker_hakod.broken else median(table[docker_hakod.label]), ref,
                        note=f"n/a: {docker_hakod.broken}" if docker_hakod.broken else ""))


def sdk_client(engine: Engine):
    import docker

    return docker.APIClient(base_url=engine.host, version=API_VERSION, timeout=120)


def sdk_cycle(api) -> float:
    """create + start + wait + remove of one `true` container; returns ms."""
    start = time.perf_counter()
    container = api.create_container("busybox", "true")
    api.start(container)
    status = api.wait(container)
    api.remove_container(container)
    if status.get("StatusCode") != 0:
        raise RuntimeError(f"container exited {status}")
    return (time.perf_counter() - start) * 1000


def sdk_sequential(engine: Engine, count: int) -> tuple[float, list[float]]:
    api = sdk_client(engine)
    try:
        start = time.perf_counter()
        latencies = []
        for _ in range(count):
            if STOP.is_set():
                raise KeyboardInterrupt
            latencies.append(sdk_cycle(api))
        return count / (time.perf_counter() - start), latencies
    finally:
        api.close()


def sdk_concurrent(engine: Engine, threads: int, per_thread: int) -> float:
    apis = [sdk_client(engine) for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def worker(api):
        barrier.wait()
        for _ in range(per_thread):
            if STOP.is_set():
                return
            sdk_cycle(api)

    try:
        with ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(worker, api) for api in apis]
            barrier.wait()
            start = time.perf_counter()
            for f in futures:
                f.result()
            return threads * per_thread / (time.perf_counter() - start)
    finally:
        for api in apis:
            api.close()


def bench_sdk(results: Results, hako: HakoDaemon, docker: DockerDaemon, args) -> None:
    print(f"sdk: create+start+wait+remove, {args.sdk_seq} sequential and {args.sdk_threads} threads "
          f"× {args.sdk_per_thread}, {args.sdk_rounds} rounds", flush=True)
    for engine in (hako, docker):  # warm-up: first container on a fresh engine pays one-time costs
        sdk_sequential(engine, 3)
    seq: dict[str, list[float]] = {"hakod": [], "dockerd": []}
    lat: dict[str, list[float]] = {"hakod": [], "dockerd": []}
    conc: dict[str, list[float]] = {"hakod": [], "dockerd": []}
    for r in range(args.sdk_rounds):
        order = (hako, docker) if r % 2 == 0 else (docker, hako)
        for engine in order:
            rate, latencies = sdk_sequential(engine, args.sdk_seq)
            seq[engine.name].append(rate)
            lat[engine.name] += latencies
        for engine in order:
            conc[engine.name].append(sdk_concurrent(engine, args.sdk_threads, args.sdk_per_thread))
    results.add(Row("sdk", f"SDK sequential ({args.sdk_seq} containers): containers/s", "/s",
                    median(seq["hakod"]), median(seq["dockerd"]), samples=seq))
    results.add(Row("sdk", "SDK sequential: one create+start+wait+remove", "ms",
                    median(lat["hakod"]), median(lat["dockerd"]), samples={k: [round(x, 2) for x in v] for k, v in lat.items()}))
    results.add(Row("sdk", f"SDK {args.sdk_threads} threads × {args.sdk_per_thread}: containers/s", "/s",
                    median(conc["hakod"]), median(conc["dockerd"]), samples=conc))


def run_many(engine: Engine, count: int, cmd: list[str], start: bool, threads: int = 4) -> list[str]:
    """Create (and start) count containers through the SDK from a few threads; returns their ids."""
    def one(_):
        if STOP.is_set():
            return None
        api = sdk_client(engine)
        try:
            cid = api.create_container("busybox", cmd)["Id"]
            if start:
                api.start(cid)
            return cid
        finally:
            api.close()

    with ThreadPoolExecutor(threads) as pool:
        ids = [cid for cid in pool.map(one, range(count)) if cid]
    if STOP.is_set():
        raise KeyboardInterrupt
    return ids


def memory_of(engine: Engine) -> dict:
    core = usage(engine.engine_pids())
    helpers = usage(engine.helper_pids())
    total = core.add(helpers)
    return {"core_rss_kib": core.rss_kib, "core_pss_kib": core.pss_kib,
            "helpers": len(helpers.pss_each), "helper_pss_median_kib": helpers.median_pss_kib(),
            "helper_rss_kib": helpers.rss_kib, "helper_pss_kib": helpers.pss_kib,
            "total_rss_kib": total.rss_kib, "total_pss_kib": total.pss_kib}


def bench_memory_idle(results: Results, hako: HakoDaemon, docker: DockerDaemon, store: dict) -> None:
    print("memory: idle", flush=True)
    idle = {e.name: memory_of(e) for e in (hako, docker)}
    store["idle"] = idle
    results.add(Row("memory", "idle: hakod + zygote vs dockerd + containerd, PSS", "MiB",
                    idle["hakod"]["total_pss_kib"] / 1024, idle["dockerd"]["total_pss_kib"] / 1024, samples=idle))
    results.add(Row("memory", "idle: same, RSS", "MiB",
                    idle["hakod"]["total_rss_kib"] / 1024, idle["dockerd"]["total_rss_kib"] / 1024))


def bench_memory_loaded(results: Results, hako: HakoDaemon, docker: DockerDaemon, count: int, store: dict) -> None:
    print(f"memory: {count} running `sleep 3600` containers", flush=True)
    loaded = {}
    for engine in (hako, docker):
        ids = run_many(engine, count, ["sleep", "3600"], start=True)
        try:
            deadline = time.monotonic() + 30  # every helper up before we count
            while len(engine.helper_pids()) < count and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            loaded[engine.name] = memory_of(engine)
        finally:
            engine.remove_all_containers()
        if len(ids) != count or loaded[engine.name]["helpers"] != count:
            results.errors.append(f"memory: {engine.name} ran {len(ids)} containers, found "
                                  f"{loaded[engine.name]['helpers']} helper processes")
    store["loaded"] = loaded
    h, d = loaded["hakod"], loaded["dockerd"]
    results.add(Row("memory", f"{count} running: hakod + zygote + monitors vs dockerd + containerd + shims, PSS",
                    "MiB", h["total_pss_kib"] / 1024, d["total_pss_kib"] / 1024, samples=loaded))
    results.add(Row("memory", f"{count} running: same, RSS", "MiB", h["total_rss_kib"] / 1024, d["total_rss_kib"] / 1024))
    results.add(Row("memory", f"{count} running: daemon(s) only (hakod + zygote vs dockerd + containerd), PSS", "MiB",
                    h["core_pss_kib"] / 1024, d["core_pss_kib"] / 1024,
                    note="the zygote's PSS shrinks as its forked monitors share its pages"))
    results.add(Row("memory", "per container: monitor vs containerd-shim, median PSS", "MiB",
                    h["helper_pss_median_kib"] / 1024, d["helper_pss_median_kib"] / 1024))
    if "idle" in store:
        per = {n: (loaded[n]["total_pss_kib"] - store["idle"][n]["total_pss_kib"]) / count / 1024 for n in loaded}
        results.add(Row("memory", "per container: (loaded − idle) / count, total PSS", "MiB", per["hakod"], per["dockerd"]))


def bench_ps(results: Results, hako: HakoDaemon, docker: DockerDaemon, count: int, n: int) -> None:
    print(f"ps: {count} created containers", flush=True)
    create_rate = {}
    try:
        for engine in (hako, docker):
            start = time.perf_counter()
            ids = run_many(engine, count, ["true"], start=False)
            create_rate[engine.name] = len(ids) / (time.perf_counter() - start)
        results.add(Row("ps", f"SDK create only ({count}, 4 threads): containers/s", "/s",
                        create_rate["hakod"], create_rate["dockerd"]))
        cli: dict[str, list[float]] = {"hakod": [], "dockerd": []}
        api: dict[str, list[float]] = {"hakod": [], "dockerd": []}

        def cli_task(engine):
            def go(keep):
                ms, result = timed_cmd([engine.docker_cli, "ps", "-a"], engine.env)
                lines = result.stdout.count("\n") - 1
                if result.returncode != 0 or lines != count:
                    raise RuntimeError(f"docker ps -a against {engine.name}: rc {result.returncode}, "
                                       f"{lines} rows, {result.stderr.strip()[-200:]}")
                if keep:
                    cli[engine.name].append(ms)
            return go

        def api_task(engine):
            def go(keep):
                start = time.perf_counter()
                status, body = engine.api("GET", "/containers/json?all=1")
                ms = (time.perf_counter() - start) * 1000
                if status != 200 or len(json.loads(body)) != count:
                    raise RuntimeError(f"GET /containers/json?all=1 against {engine.name}: {status}")
                if keep:
                    api[engine.name].append(ms)
            return go

        interleaved(n, 1, [cli_task(hako), cli_task(docker), api_task(hako), api_task(docker)])
        results.add(Row("ps", f"`docker ps -a`, {count} containers", "ms", median(cli["hakod"]),
                        median(cli["dockerd"]), samples=cli))
        results.add(Row("ps", f"GET /containers/json?all=1, {count} containers", "ms", median(api["hakod"]),
                        median(api["dockerd"]), samples=api))
    finally:
        for engine in (hako, docker):
            start = time.perf_counter()
            engine.remove_all_containers()
            print(f"    removed {engine.name}'s containers in {time.perf_counter() - start:.1f} s", flush=True)


# report
def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def machine_facts(hako: HakoDaemon, docker: DockerDaemon) -> dict:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    facts = {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
             "memory_gib": round(mem_kib / 1024 / 1024, 1),
             "cgroups": "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1",
             "python": platform.python_version()}
    for engine in (hako, docker):
        try:
            status, body = engine.api("GET", "/version")
            facts[f"{engine.name}_version"] = json.loads(body).get("Version") if status == 200 else None
        except (OSError, ValueError):
            facts[f"{engine.name}_version"] = None
    cli = subprocess.run([docker.docker_cli, "--version"], capture_output=True, text=True).stdout.strip()
    facts["docker_cli"] = f"{docker.docker_cli}: {cli}"
    return facts


def print_report(results: Results, facts: dict, args) -> None:
    print()
    print(f"Machine: {facts.get('cpus')} CPUs ({facts.get('cpu_model')}), {facts.get('memory_gib')} GiB, "
          f"kernel {facts.get('kernel')}, cgroups {facts.get('cgroups')}, Python {facts.get('python')}")
    print(f"Engines: hakod {facts.get('hakod_version')} vs dockerd {facts.get('dockerd_version')} "
          f"(+ containerd, runc shim v2); client {facts.get('docker_cli')}")
    print(f"Medians; N={args.n} for CLI and ps timings; ratio = hako / docker "
          "(times and memory: below 1 is better for hako; rates: above 1 is better)")
    print()
    print("| section | measurement | unit | hako | docker | ratio |")
    print("|---|---|---|---:|---:|---:|")
    for row in results.rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "n/a"
        note = f" — {row.note}" if row.note else ""
        print(f"| {row.section} | {row.what}{note} | {row.unit} | {fmt(row.hako)} | {fmt(row.docker)} | {ratio} |")
    for error in results.errors:
        print(f"\nERROR: {error}")


def write_json(path: str, results: Results, facts: dict, args, memory: dict, leftovers: list[str]) -> None:
    doc = {"machine": facts, "params": vars(args), "memory": memory, "errors": results.errors,
           "leftovers": leftovers,
           "rows": [{**asdict(r), "ratio": r.ratio} for r in results.rows]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, default=str)
    print(f"\nresults written to {path}")


def busybox_tar(top: str) -> str:
    rootfs = build_rootfs(os.path.join(top, "rootfs"))
    path = os.path.join(top, "busybox.tar")
    with tarfile.open(path, "w") as tar:
        tar.add(rootfs, arcname=".")
    return path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="runs of each CLI and ps timing (default 20)")
    parser.add_argument("--sdk-seq", type=int, default=100, help="sequential SDK containers per round (100)")
    parser.add_argument("--sdk-threads", type=int, default=20, help="concurrent SDK threads (20)")
    parser.add_argument("--sdk-per-thread", type=int, default=5, help="containers per SDK thread (5)")
    parser.add_argument("--sdk-rounds", type=int, default=3, help="rounds of the SDK measurements (3)")
    parser.add_argument("--memory-containers", type=int, default=50, help="running containers for memory (50)")
    parser.add_argument("--ps-containers", type=int, default=500, help="created containers for ps (500)")
    parser.add_argument("--only", default="cli,exec,sdk,memory,ps", help="sections to run, comma-separated")
    parser.add_argument("--docker-cli", default=shutil.which("docker", path="/usr/local/bin:/usr/bin"),
                        help="the docker client used against both engines (default: the newest on PATH)")
    parser.add_argument("--json", help="write results (with samples) to this JSON file")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: both engines need it")
    for tool in ("dockerd", "containerd", "containerd-shim-runc-v2"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install docker.io")

    def on_signal(_signum, _frame):
        STOP.set()  # worker threads stop picking up work, so the pools drain fast
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sections = set(args.only.split(","))
    hako, docker = HakoDaemon(args.docker_cli), DockerDaemon(args.docker_cli)
    results, memory, facts, leftovers = Results(), {}, {}, []
    top = tempfile.mkdtemp(prefix="hako-engine-bench-")
    interrupted = False
    try:
        started = time.monotonic()
        hako.start()
        docker.start()
        tar = busybox_tar(top)
        for engine in (hako, docker):
            engine.import_image(tar)
        facts = machine_facts(hako, docker)
        steps = [("memory", lambda: bench_memory_idle(results, hako, docker, memory)),
                 ("cli", lambda: bench_cli(results, hako, docker, args.n)),
                 ("exec", lambda: bench_exec(results, hako, docker, args.n)),
                 ("sdk", lambda: bench_sdk(results, hako, docker, args)),
                 ("memory", lambda: bench_memory_loaded(results, hako, docker, args.memory_containers, memory)),
                 ("ps", lambda: bench_ps(results, hako, docker, args.ps_containers, args.n))]
        for name, step in steps:
            if name not in sections:
                continue
            try:
                step()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
                results.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                print(f"  {name} failed: {exc}", flush=True)
                for engine in (hako, docker):
                    try:
                        engine.remove_all_containers()
                    except (OSError, ValueError) as cleanup_exc:
                        results.errors.append(f"{name}: could not clean {engine.name}: {cleanup_exc}")
        facts["bench_seconds"] = round(time.monotonic() - started, 1)
    except KeyboardInterrupt:
        interrupted = True
        STOP.set()
        print("\ninterrupted: cleaning up", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for engine in (docker, hako):
            try:
                leftovers += engine.stop()
            except Exception as exc:  # noqa: BLE001 - keep cleaning the other one
                leftovers.append(f"{engine.name}: cleanup failed: {exc}")
        shutil.rmtree(top, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    print_report(results, facts, args)
    for item in leftovers:
        print(f"cleanup: {item}")
    if args.json:
        write_json(args.json, results, facts, args, memory, leftovers)
    return 130 if interrupted else (1 if results.errors else 0)


if __name__ == "__main__":
    sys.exit(main())
