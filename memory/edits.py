"""Edits of a visual memory: add and remove, each one SQLite transaction that bumps the version.

Geirhos et al. 2024: knowledge is added (samples, or whole new classes, without training) and
removed by editing the database. An add commits all its items or none (bad input changes
nothing); a removal deletes the rows (``secure_delete`` zeroes their bytes), drops the index
cache file that may still hold them, checkpoints the WAL and returns the unlearning receipt
(memory.receipts). Ids are never reused: ``next_id`` only grows. `Edits` is a part of
`memory.store.VisualMemory`, which supplies the connection, the in-RAM ids and the index.
"""

from __future__ import annotations

import contextlib
import json
from typing import Callable, Sequence

import numpy as np

from procmem.core.hashing import sha256_bytes
from procmem.memory import pruning, receipts
from procmem.memory.errors import IdError, MemoryStoreError
from procmem.memory.schema import log_edit
from procmem.memory.vectors import normalise, vector_sha256


class Edits:
    """`add`, `select_ids` and `remove` of VisualMemory."""

    def add(self, vectors, labels, *, ids=None, sources: Sequence[str | None] | None = None,
            label_names: dict[int, str] | Sequence[str] | None = None,
            fingerprint: str | None = None,
            note: dict | None = None) -> np.ndarray:
        """Add samples (or whole new classes: new labels need no training); returns their ids.

        One SQLite transaction: all items are committed, or none (bad input changes nothing).
        `label_names` maps labels to class names: a dict, or a list whose i-th entry names
        label i (as `list_image_folder` returns them).
        `note` (JSON-able) is kept in the edit log entry (e.g. which file a build came from).
        """
        self._need_open()
        self.check_fingerprint(fingerprint)
        x = normalise(vectors, self.dim)
        n = len(x)
        labels = np.asarray(labels)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise MemoryStoreError(f"labels must be {n} integers (one per vector), got shape "
                                   f"{labels.shape} dtype {labels.dtype}")
        if n and labels.min() < 0:
            raise MemoryStoreError(f"labels must be >= 0 (-1 means 'no neighbour'), got "
                                   f"{int(labels.min())}")
        if sources is not None and len(sources) != n:
            raise MemoryStoreError(f"{len(sources)} sources for {n} vectors: give one per vector")
        next_id = int(self._meta("next_id"))
        ids = np.arange(next_id, next_id + n, dtype=np.int64) if ids is None else \
            self._check_new_ids(ids, n, next_id)
        if n == 0:
            return ids
        blobs = [np.ascontiguousarray(v, dtype="<f4").tobytes() for v in x]
        hashes = [sha256_bytes(b) for b in blobs]
        src = list(sources) if sources is not None else [None] * n
        version = self.version + 1
        try:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO items(id, label, source, sha256, vector, version) "
                    "VALUES (?,?,?,?,?,?)",
                    zip(ids.tolist(), labels.astype(np.int64).tolist(),
                        [None if s is None else str(s) for s in src], hashes, blobs,
                        [version] * n))
                if label_names:
                    names = label_names.items() if isinstance(label_names, dict) \
                        else enumerate(label_names)
                    conn.executemany("INSERT OR REPLACE INTO label_names VALUES (?, ?)",
                                     [(int(k), str(v)) for k, v in names])
                self._set_meta("version", version)
                self._set_meta("next_id", max(next_id, int(ids.max()) + 1))
                log_edit(conn, version, "add", n, {
                    "min_id": int(ids.min()), "max_id": int(ids.max()),
                    "labels": sorted(set(labels.tolist())), **(note or {})})
                self.index.add(ids, x)  # inside: if it fails, nothing is committed
        except BaseException:
            with contextlib.suppress(Exception):
                self.index.remove(ids)
            raise
        self._index_dirty = True
        order = np.argsort(np.concatenate([self._ids, ids]), kind="stable")
        self._ids = np.concatenate([self._ids, ids])[order]
        self._labels = np.concatenate([self._labels, labels.astype(np.int64)])[order]
        self._after_edit()
        return ids

    def _check_new_ids(self, ids, n: int, next_id: int) -> np.ndarray:
        """Caller-chosen ids as int64, refused if malformed, repeated, present or used before."""
        ids = np.asarray(ids)
        if ids.shape != (n,) or not np.issubdtype(ids.dtype, np.integer):
            raise IdError(f"ids must be {n} integers (one per vector), got shape {ids.shape}")
        ids = ids.astype(np.int64)
        if n and ids.min() < 0:
            raise IdError(f"ids must be >= 0, got {int(ids.min())}")
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise IdError(f"duplicate ids within the batch: {uniq[counts > 1][:10].tolist()}; "
                          f"nothing was added")
        present = ids[self.contains(ids)]
        if len(present):
            raise IdError(f"ids already in the memory: {present[:10].tolist()}; remove them "
                          f"first or let the memory assign ids; nothing was added")
        reused = ids[ids < next_id]
        if len(reused):
            raise IdError(f"ids {reused[:10].tolist()} were used before (and removed): a "
                          f"removed id never comes back; use ids >= {next_id}")
        return ids

    def select_ids(self, *, ids=None, label: int | None = None, source_like: str | None = None,
                   where: Callable[[str | None], bool] | None = None) -> np.ndarray:
        """Ids chosen by explicit ids, a label, a SQL LIKE pattern on sources, or a predicate
        on the source string (exactly one selector)."""
        given = [s is not None for s in (ids, label, source_like, where)]
        if sum(given) != 1:
            raise MemoryStoreError("choose exactly one of ids, label, source pattern or source "
                                   "predicate to select items")
        if ids is not None:
            ids = np.unique(np.asarray(ids, dtype=np.int64).ravel())
            unknown = ids[~self.contains(ids)]
            if len(unknown):
                raise IdError(f"ids not in the memory at {self.path}: {unknown[:10].tolist()}"
                              f"{' ...' if len(unknown) > 10 else ''}; nothing was removed "
                              f"(`procmem memory info` lists the id range)")
            return ids
        if label is not None:
            return self._ids[self._labels == int(label)]
        if source_like is not None:
            rows = self._conn.execute("SELECT id FROM items WHERE source LIKE ? ORDER BY id",
                                      (source_like,)).fetchall()
            return np.array([r[0] for r in rows], dtype=np.int64)
        rows = self._conn.execute("SELECT id, source FROM items ORDER BY id")
        return np.array([i for i, s in rows if where(s)], dtype=np.int64)

    def remove(self, ids=None, *, label: int | None = None, source_like: str | None = None,
               where: Callable[[str | None], bool] | None = None, checks: bool = True):
        """Remove items (by ids, label, source LIKE pattern or predicate) and return the
        unlearning receipt (contract 7), also saved under receipts/."""
        self._need_open()
        doomed = self.select_ids(ids=ids, label=label, source_like=source_like, where=where)
        before = self.version
        vecs = self.vectors(doomed) if len(doomed) else np.empty((0, self.dim), np.float32)
        hashes = [vector_sha256(v) for v in vecs]
        version = before + 1
        with self._transaction() as conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed(id INTEGER PRIMARY KEY)")
            conn.execute("DELETE FROM doomed")
            conn.executemany("INSERT INTO doomed VALUES (?)", [(int(i),) for i in doomed])
            conn.execute("DELETE FROM items WHERE id IN (SELECT id FROM doomed)")
            conn.execute("DELETE FROM doomed")
            self._set_meta("version", version)
            log_edit(conn, version, "remove", len(doomed), {"ids": doomed.tolist(), "sha256": hashes})
        self.index.remove(doomed)
        keep = ~np.isin(self._ids, doomed)
        self._ids, self._labels = self._ids[keep], self._labels[keep]
        # The cached index file may hold the removed vectors: drop it now, rewrite on flush.
        self._drop_index_file()
        self._checkpoint()
        self._after_edit()
        return receipts.issue(self, doomed, vecs, hashes, before, version, run_checks=checks)

    def _after_edit(self) -> None:
        """Recompute stored statistics that depend on the memory's contents."""
        cfg = self._meta("prune_config")
        if cfg is not None:
            pruning.compute(self, **json.loads(cfg))
        else:
            self._load_prune()

    def _checkpoint(self) -> None:
        """Move the WAL into the database and truncate it, so deleted bytes (zeroed by
        secure_delete) leave no copy in memory.sqlite-wal."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
