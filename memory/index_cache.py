"""The search index of a memory, built from its slot file, and the files derived from SQLite.

Exact kinds (flat, numpy, torch) keep no cache: on open they are built from ``vectors.f32``
in id order (reading 256 MB costs about what reading a cached index file did), so no index
file can hold a removed vector. IVF-PQ keeps ``index.faiss`` (its training cannot be redone
identically) with ``index.json`` naming the store version it reflects and its sha256; on open
a lagging cache is reconciled with SQLite (ids missing from it are added from the slot file,
ids SQLite no longer has are removed) and a missing or corrupt one rebuilt, and a removal
rewrites it at once (or deletes it when the index is empty). ``memory.json`` mirrors the
settings for people and tools that do not read SQLite. `IndexCache` is a part of
`memory.store.VisualMemory`; the kind's registry entry (memory.index) says whether it is
cached and (de)serialises it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np

from procmem.core.atomic import atomic_open, atomic_write_json
from procmem.core.hashing import sha256_bytes
from procmem.memory import index as index_mod
from procmem.memory.killpoints import kill_point
from procmem.memory.schema import FORMAT, INDEX_JSON, JSON_NAME


class IndexCache:
    """Building, loading, reconciling and writing VisualMemory's index, and memory.json."""

    @property
    def index_file(self) -> Path:
        return self.path / self._kind.file

    def _build_index(self):
        """The index over SQLite's items: an exact kind from the slot file; IVF-PQ from its
        cache, brought in line with SQLite (or rebuilt)."""
        index, version = self._load_index_file() if self._kind.cached else (None, None)
        if index is not None and version == self.version and index.ntotal == len(self._ids) \
                and np.array_equal(np.sort(index.ids()), self._ids):
            return index
        if index is None:
            index = self._kind.empty(self.dim, **self.index_options)
        have = index.ids() if index.ntotal else np.empty(0, np.int64)
        extra = have[~np.isin(have, self._ids)]
        missing = self._ids[~np.isin(self._ids, have)]
        index.remove(extra)
        rows = np.flatnonzero(np.isin(self._ids, missing)) if len(have) else np.arange(len(self._ids))
        index.reserve(index.ntotal + len(rows))
        for at in range(0, len(rows), 50_000):  # IVF-PQ trains on the first 50,000
            part = rows[at:at + 50_000]  # read straight from the mapped slot file when in order
            index.add(self._ids[part], self._vec.read(self._slots[part], copy=False))
        self._index_dirty = self._kind.cached
        return index

    def _load_index_file(self):
        """The cached index and the version it reflects, or (None, None) if absent/corrupt."""
        data, side = self.index_file, self.path / INDEX_JSON
        if not data.is_file() or not side.is_file():
            return None, None
        try:
            meta = json.loads(side.read_text())
            blob = data.read_bytes()
            if sha256_bytes(blob) != meta["sha256"]:
                return None, None
            return self._kind.from_bytes(self.dim, blob, **self.index_options), int(meta["version"])
        except Exception:  # a corrupt cache is rebuilt from SQLite and the slot file
            return None, None

    def cached_index_ids(self) -> np.ndarray | None:
        """The ids the index cache file on disk holds (None when there is none)."""
        if not self._kind.cached or not self.index_file.is_file():
            return None
        try:
            return self._kind.from_bytes(self.dim, self.index_file.read_bytes(),
                                         **self.index_options).ids()
        except Exception:
            return np.empty(0, np.int64)  # unreadable: holds no id a search could return

    def _write_index_cache(self) -> None:
        """Rewrite the cache (atomically) from the index in RAM, or delete it when the index
        holds nothing (an untrained IVF-PQ index has no bytes)."""
        data, side = self.index_file, self.path / INDEX_JSON
        if self.index.ntotal:
            blob = self.index.to_bytes()
            with atomic_open(data) as f:
                f.write(blob)
                f.flush()
                kill_point("index:flush")
            atomic_write_json(side, {"version": self.version, "sha256": sha256_bytes(blob),
                                     "ntotal": self.index.ntotal, "kind": self.index_kind})
        else:
            for p in (side, data):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
        self._index_dirty = False

    def _drop_stale_caches(self) -> list[str]:
        """Delete index files this kind does not keep (format 1 cached exact kinds, which held
        every vector); returns their names."""
        keep = {self._kind.file, INDEX_JSON} if self._kind.cached else set()
        gone = []
        for name in {k.file for k in index_mod.INDEX_TABLE.values()} | {INDEX_JSON}:
            if name not in keep and (self.path / name).exists():
                (self.path / name).unlink()
                gone.append(name)
        return gone

    def flush(self) -> None:
        """Write the index cache (IVF-PQ) and memory.json if they lag the store."""
        if self._conn is None or not self.writable:
            return
        if self._index_dirty:
            self._write_index_cache()
        self._write_json()

    def _write_json(self) -> None:
        doc = {"format": FORMAT, "dim": self.dim, "metric": "cosine", "index": self.index_kind,
               "index_options": self.index_options, "fingerprint": self.fingerprint,
               "version": self.version, "count": len(self)}
        path = self.path / JSON_NAME
        try:
            if json.loads(path.read_text()) == doc:
                return
        except (OSError, ValueError):
            pass
        atomic_write_json(path, doc)
