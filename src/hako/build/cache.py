"""The build cache: which image config each build step produced, by what it depended on.

    cache = BuildCache(engine.store)
    key = step_key(parent_id, created_by, content_digest)   # content: COPY/ADD sources, else ""
    hit = cache.get(key)           # CachedStep(config_bytes, top) or None
    cache.put(key, config_bytes, top)

A step's key is the sha256 of its parent image id (the previous step's config digest, which
covers the environment, user, shell and every layer under it), its history line (the
instruction with build args and the shell, as `created_by` shows it) and, for COPY and ADD, a
digest of the content and metadata of every source file (never their timestamps).

Why a table of its own in the daemon's database and not intermediate images: a classic Docker
build leaves one untagged image per step, which `docker images -a` then shows and `rmi` has to
walk; here a step's result is its config bytes and the chain id of its top layer, so a rebuild
re-creates exactly the same image ids without any intermediate image existing. The layers a
cache entry points at are kept by the engine's layer collection (``layers()``) until
``builder prune`` drops the entry.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS build_cache (
    key      TEXT PRIMARY KEY,   -- sha256 of parent id, created_by and content digest
    config   TEXT NOT NULL,      -- the step's image config, exactly the bytes its id hashes
    top      TEXT,               -- chain id of its top layer (NULL: no layer yet, FROM scratch)
    created  REAL NOT NULL,
    used     REAL NOT NULL       -- last hit, for `builder prune --filter until=`
);
"""


@dataclass
class CacheUsage:
    key: str
    description: str       # the step's created_by line
    size: int
    created: float
    used: float
    shared: bool


@dataclass
class CachedStep:
    config_bytes: bytes
    top: str | None

    @property
    def image_id(self) -> str:
        return "sha256:" + hashlib.sha256(self.config_bytes).hexdigest()


def step_key(parent_id: str, created_by: str, content_digest: str = "") -> str:
    h = hashlib.sha256()
    for part in (parent_id, created_by, content_digest):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


class BuildCache:
    def __init__(self, store):
        """``store``: the daemon's metadata store (its ``db`` and ``transaction()``)."""
        self.store = store
        self.db = db = store.db
        # executescript COMMITs whatever is pending first: only when the table is not there yet
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'build_cache'").fetchone() is None:
            self.db.executescript(SCHEMA)

    def get(self, key: str) -> CachedStep | None:
        row = self.db.execute("SELECT config, top FROM build_cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return CachedStep(row[0].encode(), row[1])

    def touch(self, keys: list[str]) -> None:
        """Record that these entries were used now, in one transaction (one fsync for a whole
        build's hits, not one per step)."""
        if not keys:
            return
        now = time.time()
        with self.store.transaction():
            self.db.executemany("UPDATE build_cache SET used = ? WHERE key = ?", [(now, k) for k in keys])

    def put(self, key: str, config_bytes: bytes, top: str | None) -> None:
        now = time.time()
        self.db.execute("INSERT OR REPLACE INTO build_cache (key, config, top, created, used) VALUES (?, ?, ?, ?, ?)",
                        (key, config_bytes.decode(), top, now, now))

    def layers(self) -> set[str]:
        """Chain ids the cache stands on; the layer collector keeps them (and what is under them)."""
        return {top for (top,) in self.db.execute("SELECT DISTINCT top FROM build_cache WHERE top IS NOT NULL")}

    def entries(self) -> list[tuple[str, str | None, float, float]]:
        return list(self.db.execute("SELECT key, top, created, used FROM build_cache"))

    def usage(self, layers, image_layers: set[str]) -> list[CacheUsage]:
        """Each entry with the size of the layer its step made (0 for a metadata step); shared
        when an image stands on that layer too, so pruning the entry would not free it."""
        out = []
        rows = self.db.execute("SELECT key, config, top, created, used FROM build_cache").fetchall()
        for key, config, top, created, used in rows:
            try:
                history = json.loads(config).get("history") or []
            except ValueError:
                history = []
            made_layer = bool(history) and not history[-1].get("empty_layer")
            layer = layers.get(top) if (top and made_layer) else None
            out.append(CacheUsage(key, history[-1].get("created_by", "") if history else "",
                                  layer.size if layer else 0, created, used, bool(top and top in image_layers)))
        return out

    def remove(self, keys: list[str]) -> None:
        with self.store.transaction():
            self.db.executemany("DELETE FROM build_cache WHERE key = ?", [(k,) for k in keys])
