"""Throughput of the image data paths that are hako's own code: gzip (push of a layer made here),
gunzip and zstd decompression (pull), sha256, and docker save/load archives. MB/s of uncompressed
data, median of the rounds, for two inputs:

  random   incompressible bytes (the issue's 200 MB layer)
  text     a tar of /usr/lib/python3* and /usr/share/doc: a realistic, compressible root filesystem

Reference points printed beside them: the `gzip -1` and `zstd -d` programs when installed, on the
same data (what Docker's Go code does is in the same range as the C tools).

    python bench/compression_bench.py [--size-mb 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import io
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
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

import zstandard  # noqa: E402

from hako.images import compression  # noqa: E402
from hako.images.archive import SaveImage, SaveLayer, read_archive, write_archive  # noqa: E402


def inputs(size: int, workdir: str) -> dict[str, bytes]:
    text_tar = os.path.join(workdir, "text.tar")
    with tarfile.open(text_tar, "w") as tar:
        for path in glob.glob("/usr/lib/python3*") + ["/usr/share/doc"]:
            tar.add(path, filter=lambda info: info if info.isfile() or info.isdir() else None)
    with open(text_tar, "rb") as f:
        text = f.read(size)
    return {"random": os.urandom(size), "text": text}


def timed(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def drain(stream) -> None:
    while stream.read(1 << 20):
        pass


def tool(args: list[str], data: bytes, rounds: int) -> float | None:
    if not shutil.which(args[0]):
        return None
    return timed(lambda: subprocess.run(args, input=data, stdout=subprocess.DEVNULL, check=True), rounds)


def bench(name: str, data: bytes, rounds: int, workdir: str) -> dict[str, float | None]:
    mb = len(data) / 1e6
    out = io.BytesIO()
    compression.compress_gzip(io.BytesIO(data), out)
    gz = out.getvalue()
    zst = zstandard.ZstdCompressor(level=3).compress(data)
    rate = lambda seconds: round(mb / seconds) if seconds else None   # noqa: E731
    figures = {
        "gzip -1, 1 thread": rate(timed(lambda: compression.compress_gzip(io.BytesIO(data), io.BytesIO(), threads=1), rounds)),
        f"gzip -1, {os.cpu_count()} threads": rate(timed(lambda: compression.compress_gzip(io.BytesIO(data), io.BytesIO()), rounds)),
        "gunzip": rate(timed(lambda: drain(compression.open_decompressed(io.BytesIO(gz))), rounds)),
        "zstd -d": rate(timed(lambda: drain(compression.open_decompressed(io.BytesIO(zst))), rounds)),
        "sha256": rate(timed(lambda: hashlib.sha256(data).digest(), rounds)),
        "gzip(1) program -1": rate(tool(["gzip", "-1", "-c"], data, rounds) or 0),
        "zstd(1) program -d": rate(tool(["zstd", "-d", "-c"], zst, rounds) or 0),
    }
    layer = tarfile.TarInfo("layer.bin")
    layer.size = len(data)
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w") as tar:
        tar.addfile(layer, io.BytesIO(data))
    tar_bytes = tar_buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [diff_id]}, "os": "linux"}).encode()
    image = SaveImage(config, ["bench:1"], [SaveLayer(diff_id, lambda: io.BytesIO(tar_bytes), len(tar_bytes))])
    path = os.path.join(workdir, f"{name}-save.tar")

    def save():
        with open(path, "wb") as f:
            write_archive(f, [image])

    def load():
        [loaded] = read_archive(path)
        with loaded.layers[0].open() as stream:
            drain(stream)

    figures["docker save (write_archive)"] = rate(timed(save, rounds))
    figures["docker load (read_archive + layer read)"] = rate(timed(load, rounds))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hako-compression-bench-") as workdir:
        data = inputs(args.size_mb * 1_000_000, workdir)
        results = {name: bench(name, blob, args.rounds, workdir) for name, blob in data.items()}
    print(f"{'MB/s (median of %d)' % args.rounds:42} " + " ".join(f"{n:>8}" for n in results))
    for key in results["random"]:
        print(f"{key:42} " + " ".join(f"{str(results[n][key] or '-'):>8}" for n in results))


if __name__ == "__main__":
    main()
