"""hako-runtime against runc, side by side in one run (issue: foundation and hako-runtime).

    sudo .venv/bin/python bench/runtime_bench.py [-n 40]

Three ways of running the same busybox bundle (`true`), interleaved so machine noise hits all
of them alike:
  runc CLI       `runc run`                       (Debian's runc)
  hako CLI       `hako-runtime run`
  hako library   Runtime.create+start+wait+delete from an already-warm Python process — the path
                 hakod's monitor uses.
Prints medians, 90th percentiles and ratios to runc. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from hako.images.busybox import build_rootfs  # noqa: E402
from hako.linux import syscalls as sc  # noqa: E402
from hako.runtime.defaults import default_spec  # noqa: E402
from hako.runtime.runtime import Runtime, wait_for_exit  # noqa: E402

HAKO_RUNTIME = os.path.join(HERE, "..", ".venv", "bin", "hako-runtime")


def make_bundle(top: str, seccomp: bool) -> str:
    bundle = os.path.join(top, "bundle-seccomp" if seccomp else "bundle")
    os.makedirs(bundle)
    config = default_spec(args=["true"], terminal=False, rootfs=os.path.join(top, "rootfs"))
    if seccomp:
        from hako.containers.seccomp_profile import default_profile, to_oci

        config["linux"]["seccomp"] = to_oci(default_profile(), config["process"]["capabilities"]["bounding"])
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f)
    return bundle


def time_cli(argv: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {result.stderr.decode().strip()}")
    return elapsed


def time_library(runtime: Runtime, container_id: str, bundle: str) -> float:
    start = time.perf_counter()
    state = runtime.create(container_id, bundle)
    runtime.start(container_id)
    wait_for_exit(state.pid)
    runtime.delete(container_id)
    return time.perf_counter() - start


def summary(name: str, samples: list[float], reference: float | None) -> str:
    ms = sorted(s * 1000 for s in samples)
    median = statistics.median(ms)
    p90 = ms[int(len(ms) * 0.9) - 1]
    ratio = f"{median / reference:.2f}x" if reference else "1.00x"
    return f"| {name:<28} | {median:8.1f} | {p90:8.1f} | {ratio:>6} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="runs of each (default 40)")
    args = parser.parse_args()
    if not shutil.which("runc"):
        raise SystemExit("runc not found: apt-get install runc")
    top = tempfile.mkdtemp(prefix="hako-bench-")
    os.chmod(top, 0o755)
    state_roots = {name: os.path.join(top, f"state-{name}") for name in ("runc", "hako", "lib")}
    try:
        build_rootfs(os.path.join(top, "rootfs"))
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)  # the library path reaps its containers itself
        library = Runtime(state_roots["lib"])
        rows = []
        for seccomp in (False, True):
            bundle = make_bundle(top, seccomp)
            samples: dict[str, list[float]] = {"runc": [], "hako": [], "lib": []}
            for i in range(args.n + 2):
                runs = (
                    ("runc", lambda: time_cli(["runc", "--root", state_roots["runc"], "run", "-b", bundle, f"r{i}"])),
                    ("hako", lambda: time_cli([HAKO_RUNTIME, "--root", state_roots["hako"], "run", "-b", bundle, f"h{i}"])),
                    ("lib", lambda: time_library(library, f"l{i}", bundle)),
                )
                for name, run in runs:
                    elapsed = run()
                    if i >= 2:  # the first two warm caches (page cache, seccomp filter cache)
                        samples[name].append(elapsed)
            label = " + Docker seccomp profile" if seccomp else ""
            reference = statistics.median(samples["runc"]) * 1000
            rows.append(summary(f"runc run{label}", samples["runc"], None))
            rows.append(summary(f"hako-runtime run{label}", samples["hako"], reference))
            rows.append(summary(f"hako library{label}", samples["lib"], reference))
        print(f"busybox `true`, {args.n} runs each, interleaved; ratio = median / runc's median")
        print("| how | median ms | p90 ms | ratio |")
        print("|---|---:|---:|---:|")
        print("\n".join(rows))
    finally:
        shutil.rmtree(top, ignore_errors=True)
        _remove_empty_cgroup_parents("hako")
    return 0


def _remove_empty_cgroup_parents(name: str) -> None:
    """The default cgroupsPath is /hako/<id>; runtimes keep parents, the benchmark tidies them."""
    top = "/sys/fs/cgroup"
    for path in [os.path.join(top, name)] + [os.path.join(top, h, name) for h in os.listdir(top)]:
        try:
            os.rmdir(path)
        except OSError:
            pass  # absent, or in use by containers that are not ours


if __name__ == "__main__":
    sys.exit(main())
