"""hakod's metadata in SQLite: containers, images and tags.

Crash safety (DESIGN.md, decision 4): WAL journal, synchronous=FULL, every change in one
transaction. Files that belong to a record are created before the row is written and removed
after the row is deleted, so a daemon killed at any instant leaves at worst an orphan directory,
which startup cleans up, never a row that points at nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading

from ..containers.model import Container

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id       TEXT PRIMARY KEY,      -- sha256:<hex> of the config
    config   TEXT NOT NULL,         -- the image config JSON, exactly the bytes that were hashed
    top      TEXT,                  -- chain id of the top layer, NULL for an image without layers
    created  REAL NOT NULL          -- when it landed in this store
);
CREATE TABLE IF NOT EXISTS tags (
    ref      TEXT PRIMARY KEY,      -- familiar form: busybox:latest, localhost:5000/a/b:1
    image_id TEXT NOT NULL REFERENCES images(id)
);
CREATE INDEX IF NOT EXISTS tags_by_image ON tags(image_id);
CREATE TABLE IF NOT EXISTS repo_digests (
    ref      TEXT PRIMARY KEY,      -- familiar form: busybox@sha256:…, localhost:5000/a/b@sha256:…
    image_id TEXT NOT NULL REFERENCES images(id)
);
CREATE TABLE IF NOT EXISTS layer_blobs (
    digest     TEXT PRIMARY KEY,    -- a blob in the content store holding this layer, maybe compressed
    diff_id    TEXT NOT NULL,       -- the digest of the uncompressed tar
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    source     TEXT                 -- a repository known to hold it (domain/path), for cross-repo mounts
);
CREATE INDEX IF NOT EXISTS layer_blobs_by_diff ON layer_blobs(diff_id);
CREATE TABLE IF NOT EXISTS networks (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL              -- hako.network.model.Network as JSON
);
CREATE TABLE IF NOT EXISTS endpoints (
    container_id TEXT NOT NULL,
    network_id   TEXT NOT NULL,
    data         TEXT NOT NULL,     -- hako.network.model.Endpoint as JSON
    PRIMARY KEY (container_id, network_id)
);
"""


class Store:
    def __init__(self, path: str):
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        # One connection, used from the loop and from worker threads (layers made in a thread
        # record their blobs): a transaction holds it for its thread until it commits.
        self._lock = threading.RLock()

    def close(self) -> None:
        self.db.close()

    def transaction(self):
        return _Transaction(self.db, self._lock)

    # containers
    def save_container(self, container: Container) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO containers (id, name, data) VALUES (?, ?, ?)",
                            (container.id, container.name, json.dumps(container.to_json())))

    def insert_container(self, container: Container) -> None:
        """Insert a new container; sqlite3.IntegrityError if its id or name is taken."""
        with self.transaction():
            self.db.execute("INSERT INTO containers (id, name, data) VALUES (?, ?, ?)",
                            (container.id, container.name, json.dumps(container.to_json())))

    def delete_container(self, container_id: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM containers WHERE id = ?", (container_id,))

    def containers(self) -> list[Container]:
        rows = self.db.execute("SELECT data FROM containers").fetchall()
        return [Container.from_json(json.loads(data)) for (data,) in rows]

    # images
    def save_image(self, image_id: str, config: bytes, top: str | None, created: float) -> None:
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO images (id, config, top, created) VALUES (?, ?, ?, ?)",
                            (image_id, config.decode(), top, created))

    def delete_image(self, image_id: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM tags WHERE image_id = ?", (image_id,))
            self.db.execute("DELETE FROM repo_digests WHERE image_id = ?", (image_id,))
            self.db.execute("DELETE FROM images WHERE id = ?", (image_id,))

    def images(self) -> list[tuple[str, str, str | None, float]]:
        return self.db.execute("SELECT id, config, top, created FROM images").fetchall()

    def set_tag(self, ref: str, image_id: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO tags (ref, image_id) VALUES (?, ?)", (ref, image_id))

    def delete_tag(self, ref: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM tags WHERE ref = ?", (ref,))

    def tags(self) -> list[tuple[str, str]]:
        return self.db.execute("SELECT ref, image_id FROM tags").fetchall()

    def set_repo_digest(self, ref: str, image_id: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO repo_digests (ref, image_id) VALUES (?, ?)", (ref, image_id))

    def delete_repo_digest(self, ref: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM repo_digests WHERE ref = ?", (ref,))

    def repo_digests(self) -> list[tuple[str, str]]:
        return self.db.execute("SELECT ref, image_id FROM repo_digests").fetchall()

    # layer blobs: which content-store blobs hold which layers
    def add_layer_blob(self, digest: str, diff_id: str, media_type: str, size: int, source: str | None) -> None:
        with self.transaction():
            self.db.execute("INSERT INTO layer_blobs (digest, diff_id, media_type, size, source) VALUES (?, ?, ?, ?, ?) "
                            "ON CONFLICT(digest) DO UPDATE SET source = coalesce(excluded.source, source)",
                            (digest, diff_id, media_type, size, source))

    def layer_blobs(self, diff_id: str) -> list[tuple[str, str, int, str | None]]:
        """(digest, media type, size, source) of every blob known to hold the layer ``diff_id``."""
        return self.db.execute("SELECT digest, media_type, size, source FROM layer_blobs WHERE diff_id = ?",
                               (diff_id,)).fetchall()

    def all_layer_blobs(self) -> list[tuple[str, str]]:
        return self.db.execute("SELECT digest, diff_id FROM layer_blobs").fetchall()

    def delete_layer_blob(self, digest: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM layer_blobs WHERE digest = ?", (digest,))


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` on an exception; nested uses join the outer one."""

    def __init__(self, db: sqlite3.Connection, lock):
        self.db = db
        self.lock = lock
        self.outer = False

    def __enter__(self):
        self.lock.acquire()
        try:
            if not self.db.in_transaction:
                self.db.execute("BEGIN IMMEDIATE")
                self.outer = True
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.outer:
                self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
        return False
