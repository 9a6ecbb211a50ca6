"""`docker build` against hakod and against Docker's classic builder (dockerd 20.10), side by side.

    sudo .venv/bin/python bench/build_bench.py [-n 3] [--files 3000] [--big-mb 50] [--json out.json]

Both engines are started privately (bench/engine_daemons.py; their own sockets, data and exec
roots, cgroup parents, none shared with bench/engine_bench.py) and get the same busybox. The same
docker CLI (DOCKER_BUILDKIT=0, the classic builder's endpoint) builds the same context on both:

  cold       --no-cache build of a two-stage Dockerfile: RUN steps writing files, a COPY of
             --files small files, a COPY of one --big-mb file, a second stage copying from the
             first
  cached     the same build again, every step from the cache
  touched    after changing one small source file: reruns from that file's COPY on
  context    a build of `FROM busybox` with the whole context: upload and unpacking, as MB/s

Rounds interleave the engines so machine noise hits both alike. Prints medians and
ratio = hako / docker (below 1 is faster). Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

from engine_daemons import DockerDaemon, HakoDaemon  # noqa: E402
from hako.images.busybox import build_rootfs  # noqa: E402

DOCKERFILE = """\
FROM busybox AS build
RUN mkdir -p /work && for i in $(seq 1 300); do echo "line $i" > /work/f$i; done
RUN dd if=/dev/zero of=/work/zeros bs=1M count=8 2>/dev/null && sync
COPY src/ /app/src/
COPY big.bin /app/big.bin
RUN find /app/src -type f | wc -l > /app/count

FROM busybox
COPY --from=build /app /app
COPY --from=build /work/f1 /f1
ENV APP=/app
CMD ["cat", "/app/count"]
"""


def make_context(top: str, files: int, big_mb: int) -> str:
    ctx = os.path.join(top, "context")
    src = os.path.join(ctx, "src")
    per_dir = 100
    for i in range(files):
        d = os.path.join(src, f"{i // per_dir:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{i}.txt"), "w") as f:
            f.write(f"source file {i}\n" * 8)
    with open(os.path.join(ctx, "big.bin"), "wb") as f:
        for _ in range(big_mb):
            f.write(os.urandom(1 << 20))
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    with open(os.path.join(ctx, "Dockerfile.context"), "w") as f:
        f.write("FROM busybox\n")
    return ctx


def context_bytes(ctx: str) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(ctx):
        total += sum(os.path.getsize(os.path.join(dirpath, n)) for n in names)
    return total


def build(engine, ctx: str, *extra: str) -> float:
    env_backup = dict(engine.env)
    engine.env["DOCKER_BUILDKIT"] = "0"
    try:
        started = time.perf_counter()
        result = engine.docker("build", "-t", "bench-build:latest", *extra, ctx, timeout=600)
        elapsed = time.perf_counter() - started
    finally:
        engine.env = env_backup
    if "Successfully built" not in result.stdout:
        raise RuntimeError(f"build on {engine.name} failed: {result.stdout[-500:]}")
    return elapsed


def busybox_tar(top: str) -> str:
    rootfs = build_rootfs(os.path.join(top, "rootfs"))
    path = os.path.join(top, "busybox.tar")
    with tarfile.open(path, "w") as tar:
        tar.add(rootfs, arcname=".")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--files", type=int, default=3000, help="small files in the context (3000)")
    parser.add_argument("--big-mb", type=int, default=50, help="size of the big file in MB (50)")
    parser.add_argument("--docker-cli", default=shutil.which("docker", path="/usr/local/bin:/usr/bin"))
    parser.add_argument("--json", help="write the samples to this JSON file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: both engines need it")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    hako = HakoDaemon(args.docker_cli, base="/var/tmp/hkbb", exec_root="/run/hkbb", cgroup_parent="/hako-build-bench")
    docker = DockerDaemon(args.docker_cli, base="/var/tmp/dkbb", exec_root="/run/dkbb",
                          cgroup_parent="/docker-build-bench")
    top = tempfile.mkdtemp(prefix="hako-build-bench-")
    samples: dict[str, dict[str, list[float]]] = {e: {} for e in ("hakod", "dockerd")}
    leftovers = []
    try:
        hako.start()
        docker.start()
        tar = busybox_tar(top)
        for engine in (hako, docker):
            engine.import_image(tar)
        ctx = make_context(top, args.files, args.big_mb)
        size = context_bytes(ctx)
        touched = os.path.join(ctx, "src", "000", "0.txt")
        for round_ in range(args.n):
            for engine in ((hako, docker) if round_ % 2 == 0 else (docker, hako)):
                s = samples[engine.name]
                s.setdefault("cold", []).append(build(engine, ctx, "--no-cache"))
                s.setdefault("cached", []).append(build(engine, ctx))
                with open(touched, "a") as f:
                    f.write(f"touched {round_} {engine.name}\n")
                s.setdefault("touched", []).append(build(engine, ctx))
                elapsed = build(engine, ctx, "-f", os.path.join(ctx, "Dockerfile.context"))
                s.setdefault("context", []).append(size / elapsed / 1e6)
                print(f"round {round_ + 1} {engine.name}: " +
                      ", ".join(f"{k} {v[-1]:.2f}" for k, v in s.items()), flush=True)
    except KeyboardInterrupt:
        print("interrupted: cleaning up", flush=True)
    finally:
        for engine in (docker, hako):
            try:
                leftovers += engine.stop()
            except Exception as exc:  # noqa: BLE001 - keep cleaning the other one
                leftovers.append(f"{engine.name}: cleanup failed: {exc}")
        shutil.rmtree(top, ignore_errors=True)
    print(f"\ncontext: {args.files} small files + {args.big_mb} MB file; medians of {args.n} rounds\n")
    print("| measure | hako | docker classic | ratio hako/docker |")
    print("|---|---|---|---|")
    for key, unit in (("cold", "s"), ("cached", "s"), ("touched", "s"), ("context", "MB/s")):
        h, d = samples["hakod"].get(key), samples["dockerd"].get(key)
        if not h or not d:
            continue
        mh, md = statistics.median(h), statistics.median(d)
        print(f"| {key} build | {mh:.2f} {unit} | {md:.2f} {unit} | {mh / md:.2f} |")
    for item in leftovers:
        print(f"cleanup: {item}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"params": vars(args), "samples": samples, "leftovers": leftovers}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
