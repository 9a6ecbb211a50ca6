"""The content store: verified commits, resumable ingests, nothing half-written under blobs/.
Real files in a temp dir; a child process stands in for a daemon killed mid-write."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time

import pytest

from hako.errdefs import Conflict, InvalidArgument, NotFound
from hako.images.content import ContentStore, DigestMismatch, SizeMismatch


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    return ContentStore(str(tmp_path / "content"))


def ingests(store) -> list[str]:
    return os.listdir(store.ingest_dir)


def test_a_committed_blob_is_readable_by_digest_and_read_only(store):
    data = b"hello layer" * 1000
    writer = store.writer("r1", digest_of(data), len(data))
    writer.write(data[:10])
    writer.write(data[10:])
    assert not store.exists(digest_of(data))        # nothing visible before commit
    assert writer.commit() == digest_of(data)
    assert store.exists(digest_of(data)) and store.size(digest_of(data)) == len(data)
    assert store.read(digest_of(data)) == data
    with store.open(digest_of(data)) as f:
        assert f.read(5) == b"hello"
    assert os.stat(store.path(digest_of(data))).st_mode & 0o777 == 0o444
    assert store.digests() == [digest_of(data)]
    assert ingests(store) == []


def test_a_digest_mismatch_names_both_digests_and_leaves_nothing(store):
    data, wrong = b"served bytes", digest_of(b"expected bytes")
    writer = store.writer("r", wrong, len(data))
    writer.write(data)
    with pytest.raises(DigestMismatch) as exc:
        writer.commit()
    assert wrong in str(exc.value) and digest_of(data) in str(exc.value)
    assert isinstance(exc.value, InvalidArgument)
    assert store.digests() == [] and ingests(store) == []


def test_a_truncated_blob_is_a_size_mismatch(store):
    data = b"x" * 100
    writer = store.writer("r", digest_of(data), len(data))
    writer.write(data[:60])
    with pytest.raises(SizeMismatch, match="expected 100 bytes, got 60"):
        writer.commit()
    assert store.digests() == [] and ingests(store) == []


def test_writing_past_the_expected_size_fails_at_once_and_discards(store):
    writer = store.writer("r", digest_of(b"abc"), 3)
    writer.write(b"ab")
    with pytest.raises(SizeMismatch, match="more than the expected 3 bytes"):
        writer.write(b"cd")
    assert store.digests() == [] and ingests(store) == []
    with pytest.raises(ValueError):
        writer.write(b"c")


def test_a_closed_ingest_resumes_where_it_stopped(store):
    data = os.urandom(300_000)
    writer = store.writer("pull-x", digest_of(data), len(data))
    writer.write(data[:123_456])
    writer.close()
    assert store.digests() == [] and len(ingests(store)) == 1
    again = store.writer("pull-x", digest_of(data), len(data))
    assert again.offset == 123_456
    again.write(data[123_456:])
    assert again.commit() == digest_of(data)
    assert store.read(digest_of(data)) == data and ingests(store) == []


def test_reset_starts_over_when_the_server_cannot_resume(store):
    data = b"0123456789"
    writer = store.writer("r", digest_of(data), len(data))
    writer.write(b"garbage")
    writer.close()
    writer = store.writer("r", digest_of(data), len(data))
    assert writer.offset == 7
    writer.reset()
    assert writer.offset == 0
    writer.write(data)
    assert writer.commit() == digest_of(data)


def test_an_ingest_for_another_blob_under_the_same_ref_is_not_resumed(store):
    writer = store.writer("r", digest_of(b"first"), 5)
    writer.write(b"fir")
    writer.close()
    writer = store.writer("r", digest_of(b"second"), 6)
    assert writer.offset == 0
    writer.write(b"second")
    assert writer.commit() == digest_of(b"second")


def test_a_writer_killed_mid_write_leaves_a_resumable_ingest_and_no_blob(store):
    data = os.urandom(2_000_000)
    script = (
        "import sys, os, signal\n"
        "from hako.images.content import ContentStore\n"
        f"w = ContentStore({store.root!r}).writer('pull-k', {digest_of(data)!r}, {len(data)})\n"
        "w.write(sys.stdin.buffer.read(1_000_000))\n"
        "w._file.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script], input=data, env={**os.environ, "PYTHONPATH": "src"},
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert proc.returncode == -9
    assert store.digests() == []
    writer = store.writer("pull-k", digest_of(data), len(data))     # the dead writer's lock is gone
    assert writer.offset == 1_000_000
    writer.write(data[1_000_000:])
    assert writer.commit() == digest_of(data)


def test_committing_a_blob_that_exists_is_fine(store):
    digest = store.put_bytes(b"config")
    writer = store.writer("again", digest, 6)
    writer.write(b"config")
    assert writer.commit() == digest
    assert store.digests() == [digest] and ingests(store) == []


def test_put_bytes_from_many_threads_at_once(store):
    errors = []

    def put():
        try:
            assert store.put_bytes(b"manifest" * 1000) == digest_of(b"manifest" * 1000)
        except Exception as exc:       # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and store.digests() == [digest_of(b"manifest" * 1000)] and ingests(store) == []


def test_put_bytes_checks_the_expected_digest(store):
    with pytest.raises(DigestMismatch):
        store.put_bytes(b"abc", digest_of(b"abd"))
    assert store.put_bytes(b"abc", digest_of(b"abc")) == digest_of(b"abc")
    assert store.put_bytes(b"abc") == digest_of(b"abc")


def test_a_second_writer_of_a_ref_fails_cleanly_without_waiting(store):
    first = store.writer("same", digest_of(b"data"), 4)
    with pytest.raises(Conflict, match="same"):
        store.writer("same", digest_of(b"data"), 4)
    first.write(b"data")
    first.commit()


def test_a_second_writer_waits_and_then_finds_the_blob_committed(store):
    data = b"shared layer"
    first = store.writer("same", digest_of(data), len(data))
    first.write(data[:5])
    seen = {}

    def second():
        writer = store.writer("same", digest_of(data), len(data), wait=True)     # blocks on the flock
        seen["exists"] = store.exists(digest_of(data))
        seen["offset"] = writer.offset
        writer.abort()

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()
    first.write(data[5:])
    first.commit()
    thread.join(5)
    assert seen == {"exists": True, "offset": 0}
    assert ingests(store) == []


def test_absent_blobs_are_not_found_and_bad_digests_are_refused(store):
    missing = digest_of(b"nothing")
    with pytest.raises(NotFound, match=missing):
        store.open(missing)
    with pytest.raises(NotFound):
        store.read(missing)
    with pytest.raises(NotFound):
        store.size(missing)
    with pytest.raises(NotFound):
        store.delete(missing)
    for bad in ("sha256:../../etc/passwd", "sha256:ABC", "../x", ""):
        with pytest.raises(InvalidArgument):
            store.path(bad)
    with pytest.raises(InvalidArgument, match="unsupported digest algorithm"):
        store.exists("sha512:" + "0" * 128)


def test_delete_removes_a_blob(store):
    digest = store.put_bytes(b"bye")
    store.delete(digest)
    assert not store.exists(digest) and store.digests() == []


def test_sweep_removes_stale_ingests_but_not_fresh_or_held_ones(store):
    stale = store.writer("stale", None, None)
    stale.write(b"old")
    stale.close()
    held = store.writer("held", None, None)
    held.write(b"busy")
    old = time.time() - 3 * 24 * 3600
    for name in ingests(store):
        for entry in os.listdir(os.path.join(store.ingest_dir, name)):
            os.utime(os.path.join(store.ingest_dir, name, entry), (old, old))
        os.utime(os.path.join(store.ingest_dir, name), (old, old))
    fresh = store.writer("fresh", None, None)
    fresh.write(b"new")
    fresh.close()
    assert store.sweep() == ["stale"]
    assert len(ingests(store)) == 2
    held.write(b"!")
    assert held.commit() == digest_of(b"busy!")
    assert store.writer("fresh").offset == 3


def test_commit_without_expectations_names_the_blob_by_its_content(store):
    writer = store.writer("local-layer")
    writer.write(b"made here")
    assert writer.digest == digest_of(b"made here")
    assert writer.commit() == digest_of(b"made here")


def test_adopt_links_a_file_in_without_copying(tmp_path):
    import hashlib
    import os

    from hako.images.content import ContentStore

    store = ContentStore(str(tmp_path / "content"))
    made = tmp_path / "layer.tar"
    made.write_bytes(b"layer bytes" * 1000)
    digest = "sha256:" + hashlib.sha256(made.read_bytes()).hexdigest()
    assert store.adopt(str(made), digest)
    assert os.stat(store.path(digest)).st_ino == os.stat(made).st_ino
    assert store.read(digest) == made.read_bytes()
    assert os.listdir(store.ingest_dir) == []
    made.unlink()
    assert store.exists(digest)
    assert store.adopt(str(tmp_path / "gone"), digest)      # present already: nothing to do
