"""The files a memory derives from SQLite: the search index cache and memory.json.

The index (the kind's file, ``index.faiss`` or ``index.npz``) is written with
``procmem.core.atomic`` together with ``index.json`` naming the store version it reflects and
its sha256. On open an index whose version differs from SQLite's is reconciled (ids missing
from it are added from SQLite, ids SQLite no longer has are removed) and one that is missing
or corrupt is rebuilt, so kill -9 at any point loses no committed add and never brings back a
removed item. ``memory.json`` mirrors the settings for people and tools that do not read
SQLite. `IndexCache` is a part of `memory.store.VisualMemory`; the index kind's registry entry
(memory.index) names the file and (de)serialises it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np

from procmem.core.atomic import atomic_write_bytes, atomic_write_json
from procmem.core.hashing import sha256_bytes
from procmem.memory.schema import FORMAT, INDEX_JSON, JSON_NAME, chunks


class IndexCache:
    """Loading, replaying, rebuilding and writing VisualMemory's index cache and memory.json."""

    def _index_paths(self) -> tuple[Path, Path]:
        return self.path / self._kind.file, self.path / INDEX_JSON

    def _drop_index_file(self) -> None:
        data, side = self._index_paths()
        for p in (side, data):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self._index_dirty = True

    def flush(self) -> None:
        """Write the index cache (atomically) and memory.json if they lag the store."""
        if self._conn is None:
            return
        if self._index_dirty:
            data, side = self._index_paths()
            if self.index.cacheable:
                blob = self.index.to_bytes()
                atomic_write_bytes(data, blob)
                atomic_write_json(side, {"version": self.version, "sha256": sha256_bytes(blob),
                                         "ntotal": self.index.ntotal, "kind": self.index_kind})
            self._index_dirty = False
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

    def _load_index_file(self):
        """The cached index and the version it reflects, or (None, None) if absent/corrupt."""
        data, side = self._index_paths()
        if not data.is_file() or not side.is_file():
            return None, None
        try:
            meta = json.loads(side.read_text())
            blob = data.read_bytes()
            if sha256_bytes(blob) != meta["sha256"]:
                return None, None
            index = self._kind.from_bytes(self.dim, blob, **self.index_options)
            return index, int(meta["version"])
        except Exception:  # a corrupt cache is rebuilt from SQLite, the source of truth
            return None, None

    def _reconcile_index(self):
        """Bring the index cache in line with SQLite: replay missing adds and removals, or
        rebuild it when it is missing or corrupt."""
        index, version = self._load_index_file()
        if index is not None and version == self.version and index.ntotal == len(self._ids):
            return index
        if index is None:
            index = self._kind.empty(self.dim, **self.index_options)
        have = index.ids() if index.ntotal else np.empty(0, np.int64)
        extra = have[~np.isin(have, self._ids)]
        missing = self._ids[~np.isin(self._ids, have)]
        index.remove(extra)
        for chunk in chunks(missing.tolist(), 50_000):
            index.add(np.asarray(chunk, np.int64), self._vectors_unchecked(chunk))
        self._index_dirty = True
        self.index = index
        self.flush()
        return index
