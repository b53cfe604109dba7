"""Tables derived from a memory's items: pruning counts and ResMem residuals.

Pruning counts v (Geirhos et al. 2024, App. G; memory.pruning) live in SQLite beside their
items, deleted with them (``ON DELETE CASCADE``), stamped with the store version and
recomputed after every edit. Residuals (Yang et al. 2023; memory.resmem) are floats derived
from the vectors, so like them they stay out of SQLite: a residual slot file
(``residuals.<n>.f32``, memory.slots) holds item i's residual at item i's vector slot, and a
removal zero-fills it with the vector; SQLite lists which items have one. Setting residuals
writes a new file (temporary + rename) before the transaction that names it, and deletes the
old one after, so a kill leaves the old set or the new one. `DerivedTables` is a part of
`memory.store.VisualMemory`, which supplies the connection and the transactions.
"""

from __future__ import annotations

import json

import numpy as np

from procmem.core.atomic import atomic_open
from procmem.memory.errors import MemoryStoreError
from procmem.memory.schema import rows_by_id
from procmem.memory.slots import SlotFile


class DerivedTables:
    """The pruning-count and residual methods of VisualMemory."""

    def _load_prune(self) -> None:
        rows = self._conn.execute("SELECT id, wrong FROM prune_stats ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
        self._prune_ids, self._prune_wrong = arr[:, 0].copy(), arr[:, 1].copy()

    def set_prune_stats(self, ids, wrong, votes, config: dict) -> None:
        """Replace the pruning counts (one transaction), stamped with the store version."""
        self._need_writable()
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
        self._need_writable()
        ids = np.asarray(ids, np.int64).ravel()
        r = np.ascontiguousarray(residuals, dtype="<f4")
        if r.ndim != 2 or len(r) != len(ids):
            raise MemoryStoreError(f"residuals must be [{len(ids)}, C] (one row per id), got "
                                   f"shape {r.shape}")
        unknown = ids[~self.contains(ids)]
        if len(unknown):
            raise MemoryStoreError(f"residuals for ids not in the memory: {unknown[:10].tolist()}")
        gen = int(self._meta("residuals_gen") or 0) + 1
        name, old = f"residuals.{gen}.f32", self._res
        table = np.zeros((self._top(), r.shape[1]), "<f4")
        table[self._slots[np.searchsorted(self._ids, ids)]] = r
        with atomic_open(self.path / name) as f:
            f.write(table.tobytes())
        with self._transaction() as conn:
            conn.execute("DELETE FROM residuals")
            conn.executemany("INSERT INTO residuals VALUES (?)", [(i,) for i in ids.tolist()])
            for key, value in (("residuals_file", name), ("residuals_gen", gen),
                               ("residuals_width", r.shape[1])):
                self._set_meta(key, value)
        self._res = SlotFile(self.path / name, r.shape[1])
        if old is not None:
            old.close()
            old.path.unlink(missing_ok=True)

    def residuals(self, ids) -> np.ndarray:
        """Stored residuals of `ids` [len, C]; rows of NaN where an item has none."""
        ids = np.asarray(ids, np.int64).ravel()
        have = {r[0] for r in rows_by_id(self._conn, "SELECT id FROM residuals WHERE id IN ({})",
                                         ids.tolist())}
        if self._res is None or not have:
            raise MemoryStoreError(f"the memory at {self.path} has no ResMem residuals: fit them "
                                   f"with memory.resmem.ResMem(memory, logits).fit() first")
        out = np.full((len(ids), self._res.width), np.nan, np.float32)
        mask = np.array([i in have for i in ids.tolist()], bool)
        if mask.any():
            out[mask] = self._res.read(self._slots[np.searchsorted(self._ids, ids[mask])])
        return out
