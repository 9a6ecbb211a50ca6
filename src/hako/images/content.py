"""The content store: blobs (layers, configs, manifests) named by their sha256 digest.

Modelled on containerd's content store. A blob is written through an *ingest*, verified, then
renamed into place, so a reader never sees a half-written or unverified blob (DESIGN decision 4):

    store = ContentStore("/var/lib/hako/content")
    writer = store.writer("pull-sha256:ab…", expected_digest="sha256:ab…", expected_size=1234)
    writer.offset                 # bytes kept from an earlier, interrupted attempt: resume there
    writer.write(chunk) …         # or writer.reset() when the server cannot resume
    writer.commit()               # size and digest checked, fsync, rename into blobs/
    store.open("sha256:ab…")

On disk, under the root:

    blobs/sha256/<hex>            committed blobs, read-only, each verified against its name
    ingest/<sha256 of ref>/       one ingest in progress:
        data                      the bytes written so far
        ref.json                  its ref, expected digest and size, when it started
        lock                      flock(2)ed by the writer that owns the ingest

An ingest that is closed (or whose writer was killed) stays on disk; opening a writer with the same
ref resumes it, rehashing what is there. ``sweep()`` removes ingests nobody touched for a day.

Errors: NotFound for an absent blob, InvalidArgument for a malformed digest, DigestMismatch
(an InvalidArgument) for content that is not what it was announced to be, Conflict when another
writer holds the ingest and the caller does not want to wait.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import uuid
from typing import BinaryIO

from ..errdefs import Conflict, InvalidArgument, NotFound
from ..snapshots.durable import fsync_dir

log = logging.getLogger(__name__)

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHUNK = 1 << 20


class DigestMismatch(InvalidArgument):
    """The bytes written do not have the digest (or the size) they were announced with."""


class SizeMismatch(DigestMismatch):
    pass


def check_digest(digest: str) -> str:
    """``digest`` if it is a sha256 digest this store can name a file by; InvalidArgument if not."""
    if not isinstance(digest, str) or not DIGEST.match(digest):
        if isinstance(digest, str) and ":" in digest and not digest.startswith("sha256:"):
            raise InvalidArgument(f"unsupported digest algorithm: {digest}")
        raise InvalidArgument(f"invalid digest: {digest!r}")
    return digest


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class ContentStore:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.blobs_dir = os.path.join(self.root, "blobs", "sha256")
        self.ingest_dir = os.path.join(self.root, "ingest")
        for path in (self.blobs_dir, self.ingest_dir):
            os.makedirs(path, mode=0o700, exist_ok=True)

    # ---- reading -------------------------------------------------------------------------------

    def path(self, digest: str) -> str:
        return os.path.join(self.blobs_dir, check_digest(digest)[len("sha256:"):])

    def exists(self, digest: str) -> bool:
        return os.path.isfile(self.path(digest))

    def size(self, digest: str) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError:
            raise NotFound(f"content {digest} not found") from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"content {digest} not found") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def digests(self) -> list[str]:
        return sorted("sha256:" + name for name in os.listdir(self.blobs_dir) if DIGEST.match("sha256:" + name))

    # ---- writing -------------------------------------------------------------------------------

    def writer(self, ref: str, expected_digest: str | None = None, expected_size: int | None = None,
               *, wait: bool = False) -> "Writer":
        """Open the ingest ``ref``, resuming what an earlier writer left there. Blocking: it
        rehashes the bytes already there.

        A second writer of the same ref gets Conflict at once; with ``wait`` it blocks until the
        first one is done (and then usually finds the blob committed: ``exists()``). Never wait
        on the event loop: the first writer may need the loop to finish.
        """
        if not ref:
            raise InvalidArgument("an ingest needs a ref")
        if expected_digest is not None:
            check_digest(expected_digest)
        if expected_size is not None and expected_size < 0:
            raise InvalidArgument(f"invalid size {expected_size} for {expected_digest or ref}")
        ingest = os.path.join(self.ingest_dir, hashlib.sha256(ref.encode()).hexdigest())
        lock_fd = self._lock_ingest(ingest, ref, wait)
        try:
            return Writer(self, ref, ingest, lock_fd, expected_digest, expected_size)
        except BaseException:
            os.close(lock_fd)
            raise

    def _lock_ingest(self, ingest: str, ref: str, wait: bool) -> int:
        """flock the ingest's lock file, (re)making the ingest directory as needed."""
        while True:
            os.makedirs(ingest, mode=0o700, exist_ok=True)
            lock_path = os.path.join(ingest, "lock")
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:        # the owner removed the ingest meanwhile: again
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                raise Conflict(f"ingest {ref} is being written by another writer") from None
            # The owner we waited for may have committed and removed the ingest: our lock is then
            # on an unlinked file, and a third writer may already own a new one.
            try:
                same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)

    def adopt(self, path: str, digest: str) -> bool:
        """Take the file at ``path``, which its maker has just hashed to ``digest`` (a layer tar
        hako wrote and unpacked itself), as that blob without copying it: a hard link into an
        ingest, then the commit's fsync and rename. False when ``path`` is on another filesystem
        (the caller copies instead). Blocking."""
        check_digest(digest)
        target = self.path(digest)
        if os.path.exists(target):
            return True
        ingest = tempfile.mkdtemp(prefix="adopt-", dir=self.ingest_dir)
        staged = os.path.join(ingest, "data")
        try:
            try:
                os.link(path, staged)
            except OSError as exc:
                if exc.errno in (errno.EXDEV, errno.EPERM):
                    return False
                raise
            fd = os.open(staged, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(staged, target)
            fsync_dir(self.blobs_dir)
            os.chmod(target, 0o444)
            return True
        finally:
            _remove_ingest(ingest)

    def put_bytes(self, data: bytes, expected_digest: str | None = None) -> str:
        """Store a small blob (a manifest, a config) in one go; its digest."""
        digest = sha256_digest(data)
        if expected_digest is not None and check_digest(expected_digest) != digest:
            raise DigestMismatch(f"digest mismatch: expected {expected_digest}, got {digest}")
        if self.exists(digest):
            return digest
        # A ref of its own: two callers putting the same bytes both succeed, neither waits.
        writer = self.writer(f"put-{digest}-{uuid.uuid4().hex}", digest, len(data))
        try:
            writer.write(data)
            return writer.commit()
        finally:
            writer.abort()

    # ---- removal -------------------------------------------------------------------------------

    def delete(self, digest: str) -> None:
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            raise NotFound(f"content {digest} not found") from None

    def sweep(self, max_age_s: float = 24 * 3600) -> list[str]:
        """Remove ingests untouched for ``max_age_s`` that no writer holds; their refs."""
        removed = []
        now = time.time()
        for name in os.listdir(self.ingest_dir):
            ingest = os.path.join(self.ingest_dir, name)
            try:
                newest = max(os.lstat(os.path.join(ingest, f)).st_mtime
                             for f in (".", *os.listdir(ingest)))
            except OSError:
                continue
            if now - newest < max_age_s:
                continue
            ref = _read_meta(ingest).get("ref", name)
            try:
                fd = os.open(os.path.join(ingest, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:      # a writer is on it, however slowly
                os.close(fd)
                continue
            try:
                _remove_ingest(ingest)
            finally:
                os.close(fd)
            removed.append(ref)
            log.info("removed stale ingest %s", ref)
        return removed


class Writer:
    """One ingest being written; used by one thread at a time.

    ``close()`` keeps the bytes for a later resume, ``abort()`` throws them away, ``commit()``
    verifies and publishes them. Also a context manager that closes (keeps) on the way out.
    """

    def __init__(self, store: ContentStore, ref: str, ingest: str, lock_fd: int,
                 expected_digest: str | None, expected_size: int | None):
        self.store = store
        self.ref = ref
        self.expected_digest = expected_digest
        self.expected_size = expected_size
        self._ingest = ingest
        self._lock_fd: int | None = lock_fd
        self._data_path = os.path.join(ingest, "data")
        meta = _read_meta(ingest)
        if meta and (meta.get("expected_digest") != expected_digest or meta.get("expected_size") != expected_size):
            # Another blob under the same ref: what is there is not a prefix of ours.
            _unlink(self._data_path)
        self._write_meta()
        self._file = open(self._data_path, "a+b")
        self._sha = hashlib.sha256()
        self.offset = 0
        self._file.seek(0)
        while chunk := self._file.read(_CHUNK):
            self._sha.update(chunk)
            self.offset += len(chunk)
        if expected_size is not None and self.offset > expected_size:
            self.reset()
        elif self.offset:
            log.debug("resuming ingest %s at %d bytes", ref, self.offset)

    def _write_meta(self) -> None:
        meta = {"ref": self.ref, "expected_digest": self.expected_digest,
                "expected_size": self.expected_size, "started": time.time()}
        tmp = os.path.join(self._ingest, "ref.json.tmp")
        with open(tmp, "w") as f:
            json.dump(meta, f)
        os.rename(tmp, os.path.join(self._ingest, "ref.json"))

    @property
    def digest(self) -> str:
        """The digest of what was written so far."""
        return "sha256:" + self._sha.hexdigest()

    def _check_open(self) -> None:
        if self._lock_fd is None:
            raise ValueError(f"writer of {self.ref} is closed")

    def write(self, data: bytes) -> None:
        self._check_open()
        if self.expected_size is not None and self.offset + len(data) > self.expected_size:
            what = self.expected_digest or self.ref
            self.abort()
            raise SizeMismatch(f"size mismatch for {what}: got more than the expected {self.expected_size} bytes")
        self._file.write(data)
        self._sha.update(data)
        self.offset += len(data)

    def reset(self) -> None:
        """Start over from byte 0 (the server would not resume where we left off)."""
        self._check_open()
        self._file.seek(0)
        self._file.truncate(0)
        self._sha = hashlib.sha256()
        self.offset = 0

    def commit(self) -> str:
        """Verify, flush and publish; the blob's digest. The ingest is gone afterwards either way
        (a mismatch discards it: those bytes can never become the blob)."""
        self._check_open()
        digest = self.digest
        what = self.expected_digest or self.ref
        if self.expected_size is not None and self.offset != self.expected_size:
            self.abort()
            raise SizeMismatch(f"size mismatch for {what}: expected {self.expected_size} bytes, got {self.offset}")
        if self.expected_digest is not None and digest != self.expected_digest:
            self.abort()
            raise DigestMismatch(f"digest mismatch: expected {self.expected_digest}, got {digest}")
        target = self.store.path(digest)
        if os.path.exists(target):
            self.abort()
            return digest
        self._file.flush()
        os.fsync(self._file.fileno())
        os.rename(self._data_path, target)
        fsync_dir(self.store.blobs_dir)
        os.chmod(target, 0o444)       # after the rename: a killed commit leaves a writable ingest
        self.abort()          # the rest of the ingest: ref.json and the lock
        return digest

    def abort(self) -> None:
        """Throw the ingest away."""
        if self._lock_fd is None:
            return
        self._file.close()
        try:
            _remove_ingest(self._ingest)
        finally:
            self._release()

    def close(self) -> None:
        """Stop writing but keep the bytes: a writer of the same ref resumes them."""
        if self._lock_fd is None:
            return
        try:
            self._file.close()
        finally:
            self._release()

    def _release(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_lock_fd", None) is not None:
            self.close()


def _read_meta(ingest: str) -> dict:
    try:
        with open(os.path.join(ingest, "ref.json")) as f:
            meta = json.load(f)
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def _remove_ingest(ingest: str) -> None:
    """Remove an ingest whose lock the caller holds: the lock file goes last, so a writer that
    waits on it wakes to find it unlinked and starts a fresh ingest."""
    for name in ("data", "ref.json", "ref.json.tmp"):
        _unlink(os.path.join(ingest, name))
    _unlink(os.path.join(ingest, "lock"))
    try:
        os.rmdir(ingest)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY):
            log.warning("could not remove ingest %s: %s", ingest, exc)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
