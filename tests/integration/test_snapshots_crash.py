"""kill -9 of the process using the store, at the worst moments: the next LayerStore() must find
whole layers or none, no half-made directories, and no mounts left in tmp/."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time

from hako.snapshots import LayerStore
from hako.snapshots.mounting import mounts_under
from tests.integration.test_snapshots_support import file, store, store_root, tar

__all__ = ["store", "store_root"]   # fixtures, used by name


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return value


def spawn(code: str, root: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, root], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        try:
            stream.close()
        except BrokenPipeError:
            pass


def big_tar() -> bytes:
    """Many files, so that extraction is caught half-way."""
    return tar(*[file(f"d{i // 100}/f{i}", b"x" * 4096) for i in range(2000)]).getvalue()


APPLY = """
import sys
from hako.snapshots import LayerStore
LayerStore(sys.argv[1]).apply_tar(sys.stdin.buffer, None)
"""


def test_kill_during_apply_leaves_no_layer_and_no_debris(store_root):
    data = big_tar()
    proc = spawn(APPLY, store_root)
    tmp = os.path.join(store_root, "tmp")
    try:
        proc.stdin.write(data[: len(data) // 2])        # half the archive, then stall
        proc.stdin.flush()
        wait_for(lambda: any(os.path.isdir(os.path.join(tmp, n, "diff", "d3")) for n in os.listdir(tmp)))
    finally:
        kill(proc)
    assert [n for n in os.listdir(tmp) if n.startswith("new-")], "the kill should have left work behind"

    store = LayerStore(store_root)
    assert os.listdir(tmp) == [] and store.layers() == [] and os.listdir(os.path.join(store_root, "layers")) == []
    layer = store.apply_tar(io.BytesIO(data), None)   # and the same archive applies cleanly afterwards
    assert layer.size == 2000 * 4096


EXPORT = """
import sys
from hako.snapshots import LayerStore
LayerStore(sys.argv[1]).export("c1", sys.stdout.buffer)
"""


def test_kill_during_export_leaves_a_mount_the_next_start_removes(store_root, store):
    layer = store.apply_tar(tar(file("big", b"x" * (4 << 20))), None)
    store.prepare("c1", layer.chain_id)
    tmp = os.path.join(store_root, "tmp")
    proc = spawn(EXPORT, store_root)       # nobody reads its stdout: it blocks inside the export
    try:
        wait_for(lambda: mounts_under(tmp))
    finally:
        kill(proc)
    assert mounts_under(tmp), "the kill should have left the read-only mount behind"

    again = LayerStore(store_root)
    assert mounts_under(store_root) == [] and os.listdir(tmp) == []
    assert again.rw_keys() == ["c1"] and again.get(layer.chain_id) == layer
    out = io.BytesIO()
    again.export("c1", out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as t:
        assert t.getnames() == ["big"]
    again.remove_rw("c1")
