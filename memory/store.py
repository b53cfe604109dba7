"""`VisualMemory`: a persistent, editable store of labelled unit vectors (contract 6).

Geirhos et al. 2024 ("Towards flexible perception with visual memory"): knowledge lives in a
database of (embedding, label) pairs that can be added to and removed from without training.

Crash-safety design. ``memory.sqlite`` (WAL journal, ``synchronous=FULL``, ``secure_delete=ON``)
is the single source of truth: it holds every item's id, label, source, the float32 vector
itself (BLOB) and its sha256, the label names, the store version, derived statistics
(pruning counts, ResMem residuals; deleted with their item by ``ON DELETE CASCADE``) and an
append-only edit log (triggers forbid UPDATE/DELETE on it). Each edit is one SQLite transaction
that also bumps the version, so an edit is committed or not, never half. The search index
(``index.faiss``, or ``index.npz`` for the NumPy/torch backends) is a derived cache written with
``procmem.atomic`` together with ``index.json`` naming the store version it reflects and its
sha256. On open, an index whose version differs from SQLite's is reconciled (ids missing from
it are added from SQLite, ids SQLite no longer has are removed) and one that is missing or
corrupt is rebuilt. A removal therefore deletes the stale index file at once (it may hold the
removed vectors) and checkpoints the WAL; the next ``flush``/``close`` writes a fresh index.
So kill -9 at any point loses no committed add and never brings back a removed item.

Vectors are L2-normalised on add (zero, NaN and inf rows are rejected); the metric is cosine
(inner product of unit vectors). Ids are int64 >= 0; ids are never reused (``next_id`` only
grows), so a removed id never comes back as a different item.

One process edits a memory at a time: SQLite serialises writers, but another process's
in-RAM index only sees the edits when it opens the memory again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from procmem.core.atomic import atomic_write_bytes, atomic_write_json
from procmem.core.clock import utc_now
from procmem.core.hashing import sha256_bytes
from procmem.memory import index as index_mod
from procmem.memory.errors import (
    BadVectorsError,
    CorruptStoreError,
    FingerprintError,
    IdError,
    MemoryStoreError,
)

FORMAT = 1
SQLITE_NAME = "memory.sqlite"
JSON_NAME = "memory.json"
INDEX_JSON = "index.json"

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items(
    id INTEGER PRIMARY KEY, label INTEGER NOT NULL, source TEXT,
    sha256 TEXT NOT NULL, vector BLOB NOT NULL, version INTEGER NOT NULL);
CREATE INDEX items_label ON items(label);
CREATE TABLE label_names(label INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE edits(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, time TEXT NOT NULL,
    op TEXT NOT NULL, count INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE TRIGGER edits_no_update BEFORE UPDATE ON edits
    BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
CREATE TRIGGER edits_no_delete BEFORE DELETE ON edits
    BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
CREATE TABLE prune_stats(
    id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    wrong INTEGER NOT NULL, votes INTEGER NOT NULL);
CREATE TABLE residuals(
    id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE, value BLOB NOT NULL);
"""


def vector_sha256(vector: np.ndarray) -> str:
    """sha256 of a vector's float32 little-endian bytes (what the store keeps and hashes)."""
    return hashlib.sha256(np.ascontiguousarray(vector, dtype="<f4").tobytes()).hexdigest()


def normalise(vectors, dim: int, what: str = "vectors") -> np.ndarray:
    """Validate [N, dim] finite non-zero vectors and return them L2-normalised as float32
    (rows already of unit norm, within 1e-5, are left exactly as given)."""
    x = np.asarray(vectors)
    if x.ndim == 1 and x.size == dim:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != dim:
        raise BadVectorsError(f"{what} have shape {tuple(x.shape)} but this memory stores "
                              f"{dim}-d vectors: embed with the memory's encoder (width {dim})")
    if not np.issubdtype(x.dtype, np.floating):
        raise BadVectorsError(f"{what} must be floating point, got dtype {x.dtype}")
    x = x.astype(np.float32)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite)[:10].tolist()
        raise BadVectorsError(f"{what} rows {rows} contain NaN or inf: fix the embedding run; "
                              f"nothing was written")
    norms = np.linalg.norm(x.astype(np.float64), axis=1)
    if (norms < 1e-12).any():
        rows = np.flatnonzero(norms < 1e-12)[:10].tolist()
        raise BadVectorsError(f"{what} rows {rows} are zero vectors and have no direction to "
                              f"normalise; drop them; nothing was written")
    off = np.abs(norms - 1.0) > 1e-5  # unit rows are kept byte-identical (their sha256 too)
    x[off] = (x[off] / norms[off, None]).astype(np.float32)
    return x


@dataclass(frozen=True)
class Info:
    path: str
    dim: int
    metric: str
    index: str
    fingerprint: str
    version: int
    count: int
    num_classes: int
    edits: int


class VisualMemory:
    """A memory directory: create, open, add, remove, search, classify (contract 6)."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = Path(path)
        self._conn = conn
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        try:
            self.dim = int(meta["dim"])
            self.fingerprint = meta["fingerprint"]
            self.index_kind = meta["index"]
            self.index_options = json.loads(meta["index_options"])
        except (KeyError, ValueError) as e:
            raise CorruptStoreError(f"{self.path / SQLITE_NAME} lacks its settings ({e}): the "
                                    f"memory was never fully created; delete it and build again")
        self._index_dirty = False
        self._load_items()
        self.index = self._reconcile_index()
        self._write_json()

    # ------------------------------------------------------------------ open / create
    @classmethod
    def create(cls, path, dim: int, fingerprint: str, index: str = "flat", *,
               exist_ok: bool = False, **index_options) -> "VisualMemory":
        """A new, empty memory in directory `path` for `dim`-d vectors from encoder `fingerprint`."""
        path = Path(path)
        if int(dim) < 1:
            raise MemoryStoreError(f"dimension must be >= 1, got {dim}")
        if index not in index_mod.KINDS:
            raise MemoryStoreError(f"unknown index type {index!r}; choose one of "
                                   f"{', '.join(index_mod.KINDS)}")
        index_mod.create(index, int(dim), **index_options)  # validates options before any write
        if (path / SQLITE_NAME).exists():
            if exist_ok:
                return cls.open(path)
            raise MemoryStoreError(f"{path} already holds a visual memory: open it, add to it, or "
                                   f"choose a new directory")
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / f".{SQLITE_NAME}.creating"
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.executescript(SCHEMA)
            meta = {"format": str(FORMAT), "dim": str(int(dim)), "metric": "cosine",
                    "fingerprint": str(fingerprint), "index": index,
                    "index_options": json.dumps(index_options, sort_keys=True),
                    "version": "0", "next_id": "0", "created": utc_now()}
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.execute("INSERT INTO edits(version, time, op, count, detail) VALUES (0, ?, "
                         "'create', 0, ?)", (meta["created"], json.dumps(
                             {"dim": int(dim), "fingerprint": str(fingerprint), "index": index})))
        finally:
            conn.close()
        os.replace(tmp, path / SQLITE_NAME)  # the memory exists only once its schema is complete
        return cls.open(path)

    @classmethod
    def open(cls, path, *, fingerprint: str | None = None) -> "VisualMemory":
        """Open an existing memory, reconciling its index with SQLite; optionally check the
        encoder `fingerprint` the caller will query with."""
        path = Path(path)
        db = path / SQLITE_NAME
        if not db.is_file():
            raise MemoryStoreError(f"no visual memory at {path} (missing {SQLITE_NAME}): create "
                                   f"one with `procmem memory build`")
        try:
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.DatabaseError as e:
            raise CorruptStoreError(f"{db} is not a readable SQLite database ({e}): restore it "
                                    f"from a backup or rebuild the memory from its embeddings")
        try:
            mem = cls(path, conn)
        except sqlite3.DatabaseError as e:
            conn.close()
            raise CorruptStoreError(f"{db} is damaged ({e}): restore it from a backup or rebuild "
                                    f"the memory from its embeddings; `procmem memory verify` "
                                    f"reports details")
        except BaseException:
            conn.close()
            raise
        if fingerprint is not None:
            mem.check_fingerprint(fingerprint)
        return mem

    def close(self) -> None:
        """Write the index cache if it is stale, then close SQLite."""
        if self._conn is None:
            return
        self.flush()
        self._conn.close()
        self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ state in RAM
    def _load_items(self) -> None:
        rows = self._conn.execute("SELECT id, label FROM items ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
        self._ids, self._labels = arr[:, 0].copy(), arr[:, 1].copy()
        self._load_prune()

    def _load_prune(self) -> None:
        rows = self._conn.execute("SELECT id, wrong FROM prune_stats ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
        self._prune_ids, self._prune_wrong = arr[:, 0].copy(), arr[:, 1].copy()

    @contextlib.contextmanager
    def _transaction(self):
        """One SQLite write transaction: committed as a whole, or rolled back on any error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    @property
    def version(self) -> int:
        return int(self._meta("version"))

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    @property
    def labels(self) -> np.ndarray:
        """Labels aligned with `ids` (sorted by id)."""
        return self._labels.copy()

    @property
    def label_names(self) -> dict[int, str]:
        return dict(self._conn.execute("SELECT label, name FROM label_names"))

    @property
    def num_classes(self) -> int:
        top = int(self._labels.max()) + 1 if len(self._labels) else 0
        names = self._conn.execute("SELECT max(label) FROM label_names").fetchone()[0]
        return max(top, (names + 1) if names is not None else 0, 1)

    def labels_of(self, ids) -> np.ndarray:
        """Labels of `ids` (any shape); -1 for -1 (padding) or ids not in the memory."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self._ids):
            return np.full(ids.shape, -1, np.int64)
        pos = np.clip(np.searchsorted(self._ids, ids), 0, len(self._ids) - 1)
        return np.where(self._ids[pos] == ids, self._labels[pos], -1).astype(np.int64)

    def contains(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        return np.isin(ids, self._ids)

    def vectors(self, ids) -> np.ndarray:
        """The stored float32 vectors of `ids` (from SQLite, the source of truth)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        out = np.empty((len(ids), self.dim), np.float32)
        pos = {int(i): r for r, i in enumerate(ids)}
        for chunk in _chunks(ids.tolist(), 900):
            q = f"SELECT id, vector FROM items WHERE id IN ({','.join('?' * len(chunk))})"
            for i, blob in self._conn.execute(q, chunk):
                out[pos[i]] = np.frombuffer(blob, dtype="<f4")
        missing = ids[~self.contains(ids)]
        if len(missing):
            raise IdError(f"ids not in the memory at {self.path}: {missing[:10].tolist()}")
        return out

    def sources(self, ids) -> list[str | None]:
        ids = np.asarray(ids, dtype=np.int64).ravel().tolist()
        got: dict[int, str | None] = {}
        for chunk in _chunks(ids, 900):
            q = f"SELECT id, source FROM items WHERE id IN ({','.join('?' * len(chunk))})"
            got.update(self._conn.execute(q, chunk).fetchall())
        return [got.get(i) for i in ids]

    def edit_log(self) -> list[dict]:
        cur = self._conn.execute("SELECT seq, version, time, op, count, detail FROM edits ORDER BY seq")
        return [dict(seq=s, version=v, time=t, op=o, count=c, detail=json.loads(d))
                for s, v, t, o, c, d in cur]

    def info(self) -> Info:
        edits = self._conn.execute("SELECT count(*) FROM edits").fetchone()[0]
        return Info(str(self.path), self.dim, "cosine", self.index_kind, self.fingerprint,
                    self.version, len(self), self.num_classes, edits)

    # ------------------------------------------------------------------ fingerprints
    def check_fingerprint(self, fingerprint: str | None, dim: int | None = None) -> None:
        """Raise FingerprintError unless queries from (fingerprint, dim) match this memory."""
        if dim is not None and int(dim) != self.dim:
            raise FingerprintError(f"queries are {dim}-d but the memory at {self.path} stores "
                                   f"{self.dim}-d vectors from encoder {self.fingerprint}: embed "
                                   f"the queries with that encoder")
        if fingerprint is not None and str(fingerprint) != self.fingerprint:
            raise FingerprintError(f"queries come from encoder {fingerprint} but the memory at "
                                   f"{self.path} was built with encoder {self.fingerprint}: embed "
                                   f"with the memory's encoder or build a new memory")

    # ------------------------------------------------------------------ edits
    def add(self, vectors, labels, *, ids=None, sources: Sequence[str | None] | None = None,
            label_names: dict[int, str] | None = None, fingerprint: str | None = None,
            note: dict | None = None) -> np.ndarray:
        """Add samples (or whole new classes: new labels need no training); returns their ids.

        One SQLite transaction: all items are committed, or none (bad input changes nothing).
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
        if ids is None:
            ids = np.arange(next_id, next_id + n, dtype=np.int64)
        else:
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
                    conn.executemany("INSERT OR REPLACE INTO label_names VALUES (?, ?)",
                                     [(int(k), str(v)) for k, v in label_names.items()])
                self._set_meta("version", version)
                self._set_meta("next_id", max(next_id, int(ids.max()) + 1))
                conn.execute("INSERT INTO edits(version, time, op, count, detail) "
                             "VALUES (?,?,?,?,?)", (version, utc_now(), "add", n, json.dumps(
                                 {"min_id": int(ids.min()), "max_id": int(ids.max()),
                                  "labels": sorted(set(labels.tolist())), **(note or {})})))
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
        from procmem.memory import receipts

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
            conn.execute("INSERT INTO edits(version, time, op, count, detail) VALUES (?,?,?,?,?)",
                         (version, utc_now(), "remove", len(doomed), json.dumps(
                             {"ids": doomed.tolist(), "sha256": hashes})))
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
            from procmem.memory import pruning

            pruning.compute(self, **json.loads(cfg))
        else:
            self._load_prune()

    def _checkpoint(self) -> None:
        """Move the WAL into the database and truncate it, so deleted bytes (zeroed by
        secure_delete) leave no copy in memory.sqlite-wal."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    # ------------------------------------------------------------------ derived statistics
    def set_prune_stats(self, ids, wrong, votes, config: dict) -> None:
        """Replace the pruning counts (one transaction), stamped with the store version."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM prune_stats")
            conn.executemany("INSERT INTO prune_stats VALUES (?,?,?)",
                             zip(np.asarray(ids).tolist(), np.asarray(wrong).tolist(),
                                 np.asarray(votes).tolist()))
            self._set_meta("prune_config", json.dumps(config, sort_keys=True))
            self._set_meta("prune_version", self.version)
        self._load_prune()

    def prune_stats(self) -> dict | None:
        """{'ids', 'wrong', 'votes', 'version', 'config'} or None when never computed."""
        cfg = self._meta("prune_config")
        if cfg is None:
            return None
        rows = np.array(self._conn.execute(
            "SELECT id, wrong, votes FROM prune_stats ORDER BY id").fetchall(), np.int64).reshape(-1, 3)
        return {"ids": rows[:, 0], "wrong": rows[:, 1], "votes": rows[:, 2],
                "version": int(self._meta("prune_version")), "config": json.loads(cfg)}

    def wrong_counts(self, ids) -> np.ndarray:
        """Pruning count v (times an item helped a wrong decision) for `ids`; 0 if unknown."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self._prune_ids):
            return np.zeros(ids.shape, np.int64)
        pos = np.clip(np.searchsorted(self._prune_ids, ids), 0, len(self._prune_ids) - 1)
        return np.where(self._prune_ids[pos] == ids, self._prune_wrong[pos], 0)

    def set_residuals(self, ids, residuals) -> None:
        """Store one float32 vector per item (ResMem residuals), replacing earlier ones."""
        r = np.ascontiguousarray(residuals, dtype="<f4")
        with self._transaction() as conn:
            conn.execute("DELETE FROM residuals")
            conn.executemany("INSERT INTO residuals VALUES (?, ?)",
                             zip(np.asarray(ids, np.int64).tolist(), (row.tobytes() for row in r)))

    def residuals(self, ids) -> np.ndarray:
        """Stored residuals of `ids` [len, C]; rows of NaN where an item has none."""
        ids = np.asarray(ids, np.int64).ravel()
        got = {}
        for chunk in _chunks(ids.tolist(), 900):
            q = f"SELECT id, value FROM residuals WHERE id IN ({','.join('?' * len(chunk))})"
            got.update(self._conn.execute(q, chunk).fetchall())
        if not got:
            raise MemoryStoreError(f"the memory at {self.path} has no ResMem residuals: fit them "
                                   f"with memory.resmem.fit first")
        width = len(next(iter(got.values()))) // 4
        out = np.full((len(ids), width), np.nan, np.float32)
        for r, i in enumerate(ids.tolist()):
            if i in got:
                out[r] = np.frombuffer(got[i], dtype="<f4")
        return out

    # ------------------------------------------------------------------ search / classify
    def search(self, queries, k: int, *, fingerprint: str | None = None):
        """Nearest `k` items by cosine similarity: (sims float32 [Q, k], ids int64 [Q, k]),
        nearest first, padded with (-inf, -1) when the memory holds fewer than k items."""
        self._need_open()
        q = np.asarray(queries)
        self.check_fingerprint(fingerprint, q.shape[-1] if q.ndim >= 1 else None)
        if int(k) < 1:
            raise MemoryStoreError(f"k must be >= 1, got {k}")
        q = normalise(q, self.dim, "queries")
        refine = int(self.index_options.get("refine", 0)) if not self.index.exact else 0
        if refine > 0:
            _, cand = self.index.search(q, int(k) * refine)
            return index_mod.rerank(q, cand, int(k), lambda ids: self._vectors_unchecked(ids.tolist()))
        return self.index.search(q, int(k))

    def classify(self, queries, k: int = 10, rule: str = "rank", *, tau: float = 0.07,
                 alpha: float = 2.0, pruning: str = "none", fingerprint: str | None = None):
        """kNN decision with its neighbours (memory.decisions.Decisions); `pruning="soft"`
        multiplies each neighbour's vote by gamma = d/(c+v) (Geirhos et al. App. G)."""
        from procmem.memory import decisions

        sims, ids = self.search(queries, k, fingerprint=fingerprint)
        return decisions.decide(self, sims, ids, rule, tau=tau, alpha=alpha, pruning=pruning)

    # ------------------------------------------------------------------ index cache
    def _index_paths(self) -> tuple[Path, Path]:
        name = "index.npz" if self.index_kind in ("numpy", "torch") else "index.faiss"
        return self.path / name, self.path / INDEX_JSON

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
            if self.index.ntotal or self.index_kind != "ivfpq":
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
            index = index_mod.from_bytes(self.index_kind, self.dim, blob, **self.index_options)
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
            index = index_mod.create(self.index_kind, self.dim, **self.index_options)
        have = index.ids() if index.ntotal else np.empty(0, np.int64)
        extra = have[~np.isin(have, self._ids)]
        missing = self._ids[~np.isin(self._ids, have)]
        index.remove(extra)
        for chunk in _chunks(missing.tolist(), 50_000):
            index.add(np.asarray(chunk, np.int64), self._vectors_unchecked(chunk))
        self._index_dirty = True
        self.index = index
        self.flush()
        return index

    def _vectors_unchecked(self, ids: list[int]) -> np.ndarray:
        out = []
        for chunk in _chunks(ids, 900):
            q = f"SELECT vector FROM items WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id"
            out.extend(r[0] for r in self._conn.execute(q, chunk))
        return np.frombuffer(b"".join(out), dtype="<f4").reshape(-1, self.dim)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids [N], vectors [N, D], labels [N]) of every item in id order, read from SQLite."""
        parts = list(self.iter_vectors())
        if not parts:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32), np.empty(0, np.int64)
        return self._ids.copy(), np.concatenate([v for _, v in parts]), self._labels.copy()

    def iter_vectors(self, batch: int = 50_000):
        """(ids, vectors) batches over the whole store in id order, from SQLite."""
        for chunk in _chunks(self._ids.tolist(), batch):
            yield np.asarray(chunk, np.int64), self._vectors_unchecked(chunk)

    def _need_open(self) -> None:
        if self._conn is None:
            raise MemoryStoreError(f"the memory at {self.path} is closed: open it again")

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection (for verify and receipts; do not write through it)."""
        self._need_open()
        return self._conn


def _chunks(seq: list, size: int) -> Iterable[list]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]
