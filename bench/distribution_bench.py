"""Pull and push through hakod and through Docker (Debian's dockerd 20.10 + containerd), side by
side in one run, from the same local registry (Debian's docker-registry on 127.0.0.1).

Images (made here, cached under /var/tmp/hako-dist-bench):
  big     one layer holding a 200 MB file of random bytes (incompressible), gzip
  debian  a debootstrap'd Debian 12 minbase root filesystem, gzip (needs debootstrap and the
          Debian mirror apt uses; skipped with --no-debian)

Each round pulls every image into each engine from cold (the image and its layers removed
before), alternating which engine goes first, then pushes it to a fresh registry (so every blob
is uploaded, none mounted). Reports medians and ratios hako/docker; also hako's unpack throughput
(the layer store applying the decompressed tar, MB/s of tar).

    python bench/distribution_bench.py [--rounds 5] [--no-debian] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "src"), HERE]

from engine_daemons import DockerDaemon, HakoDaemon  # noqa: E402
from tests import oci_images  # noqa: E402
from tests.registry_servers import RegistryServer  # noqa: E402

CACHE = "/var/tmp/hako-dist-bench"
DOCKER_CLI = shutil.which("docker") or "/usr/bin/docker"
BIG_SIZE = 200 << 20


def build_big_layout() -> str:
    path = os.path.join(CACHE, "big")
    if os.path.exists(os.path.join(path, "index.json")):
        return path
    tar_path = os.path.join(CACHE, "big.tar")
    with open(tar_path, "wb") as out, tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("random.bin")
        info.size = BIG_SIZE
        info.mode = 0o644
        with open("/dev/urandom", "rb") as src:
            tar.addfile(info, _Limited(src, BIG_SIZE))
    return _layout_from_tar(path, tar_path)


def build_debian_layout() -> str | None:
    path = os.path.join(CACHE, "debian")
    if os.path.exists(os.path.join(path, "index.json")):
        return path
    rootfs = "/var/tmp/hako-bench-minbase-root"
    if not os.path.exists(os.path.join(rootfs, "usr", "bin", "apt")):
        if not shutil.which("debootstrap"):
            return None
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", rootfs, "http://deb.debian.org/debian"],
                       check=True, stdout=subprocess.DEVNULL)
    tar_path = os.path.join(CACHE, "debian.tar")
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", rootfs, "-cf", tar_path,
                    "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "."], check=True)
    return _layout_from_tar(path, tar_path)


def _layout_from_tar(path: str, tar_path: str) -> str:
    """An OCI layout around one layer tar, gzip-compressed with the gzip tool (-6, as Docker does)."""
    layout = oci_images.Layout(path)
    gz = tar_path + ".gz"
    subprocess.run(f"gzip -6 -c {tar_path} > {gz}", shell=True, check=True)
    diff_id = _sha256_file(tar_path)
    blob_digest = _sha256_file(gz)
    os.replace(gz, os.path.join(path, "blobs", "sha256", blob_digest[7:]))
    config = {"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
              "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    config_bytes = json.dumps(config).encode()
    manifest = {"schemaVersion": 2, "mediaType": oci_images.OCI_MANIFEST,
                "config": {"mediaType": oci_images.OCI_CONFIG, "digest": layout.blob(config_bytes),
                           "size": len(config_bytes)},
                "layers": [{"mediaType": oci_images.LAYER_TYPES["gzip"], "digest": blob_digest,
                            "size": os.path.getsize(os.path.join(path, "blobs", "sha256", blob_digest[7:]))}]}
    body = json.dumps(manifest).encode()
    layout.tag({"mediaType": oci_images.OCI_MANIFEST, "digest": layout.blob(body), "size": len(body)}, "v1")
    layout.write()
    return path


def _sha256_file(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class _Limited:
    def __init__(self, raw, size):
        self.raw, self.left = raw, size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        data = self.raw.read(n)
        self.left -= len(data)
        return data


def timed(engine, *args) -> float:
    start = time.perf_counter()
    engine.docker(*args)
    return time.perf_counter() - start


def unpack_throughput(layout: str) -> float:
    """MB of tar per second through hako's layer store (decompress + verify + unpack + sync)."""
    from hako.images import compression
    from hako.images.readers import CountingReader
    from hako.images.readahead import ReadAhead
    from hako.snapshots import LayerStore

    manifest_desc = json.load(open(os.path.join(layout, "index.json")))["manifests"][0]
    manifest = json.load(open(os.path.join(layout, "blobs", "sha256", manifest_desc["digest"][7:])))
    blob = os.path.join(layout, "blobs", "sha256", manifest["layers"][0]["digest"][7:])
    root = tempfile.mkdtemp(prefix="unpack-", dir="/var/tmp")
    try:
        store = LayerStore(root)
        start = time.perf_counter()
        tar = CountingReader(compression.open_decompressed(open(blob, "rb")), lambda n: None)
        with ReadAhead(tar) as stream:      # as a pull unpacks
            store.apply_tar(stream, None)
        elapsed = time.perf_counter() - start
        return tar.read_bytes / elapsed / 1e6
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-debian", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    layouts = {"big": build_big_layout()}
    if not args.no_debian:
        debian = build_debian_layout()
        if debian:
            layouts["debian"] = debian

    source = RegistryServer().start()
    hako = HakoDaemon(DOCKER_CLI, base="/var/tmp/hkb-dist", exec_root="/run/hkbd", cgroup_parent="/hako-bench-dist")
    docker = DockerDaemon(DOCKER_CLI, base="/var/tmp/dkb-dist", exec_root="/run/dkbd", cgroup_parent="/docker-bench-dist")
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for name, layout in layouts.items():
            oci_images.skopeo_push(layout, f"{source.host}/bench/{name}:v1")
        hako.start()
        docker.start()
        for round_ in range(args.rounds):
            engines = [hako, docker] if round_ % 2 == 0 else [docker, hako]
            for name in layouts:
                ref = f"{source.host}/bench/{name}:v1"
                for engine in engines:
                    key = f"pull {name}"
                    results.setdefault(key, {}).setdefault(engine.name, []).append(timed(engine, "pull", ref))
                target = RegistryServer().start()
                try:
                    for engine in engines:
                        pushed = f"{target.host}/bench/{name}-{engine.name}:v1"
                        engine.docker("tag", ref, pushed)
                        key = f"push {name}"
                        results.setdefault(key, {}).setdefault(engine.name, []).append(timed(engine, "push", pushed))
                        engine.docker("rmi", pushed)
                finally:
                    target.stop()
                for engine in engines:
                    engine.docker("rmi", ref)
                    engine.docker("image", "prune", "-af", check=False)
        throughput = {name: unpack_throughput(layout) for name, layout in layouts.items()}
    finally:
        docker.stop()
        hako.stop()
        source.stop()

    rows = []
    for key, by_engine in results.items():
        h, d = statistics.median(by_engine["hakod"]), statistics.median(by_engine["dockerd"])
        rows.append({"operation": key, "hako_s": round(h, 3), "docker_s": round(d, 3), "ratio": round(h / d, 2)})
    if args.json:
        print(json.dumps({"rows": rows, "unpack_MBps": throughput}, indent=2))
    else:
        print(f"{'operation':<16}{'hako (s)':>10}{'docker (s)':>12}{'ratio':>8}")
        for r in rows:
            print(f"{r['operation']:<16}{r['hako_s']:>10.3f}{r['docker_s']:>12.3f}{r['ratio']:>7.2f}x")
        for name, mbps in throughput.items():
            print(f"hako unpack throughput, {name}: {mbps:.0f} MB/s of tar")
    return 0


if __name__ == "__main__":
    sys.exit(main())
