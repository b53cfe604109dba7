"""Tables derived from a memory's items: pruning counts and ResMem residuals.

Both live in SQLite beside their items and are deleted with them (``ON DELETE CASCADE``), so a
removed item never lingers in them. Pruning counts v (Geirhos et al. 2024, App. G;
memory.pruning) are stamped with the store version and recomputed after every edit; residuals
(Yang et al. 2023; memory.resmem) are one float32 vector per item. `DerivedTables` is a part
of `memory.store.VisualMemory`, which supplies the connection and the transactions.
"""

from __future__ import annotations

import json

import numpy as np

from procmem.memory.errors import MemoryStoreError
from procmem.memory.schema import rows_by_id


class DerivedTables:
    """The pruning-count and residual methods of VisualMemory."""

    def _load_prune(self) -> None:
        rows = self._conn.execute("SELECT id, wrong FROM prune_stats ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
        self._prune_ids, self._prune_wrong = arr[:, 0].copy(), arr[:, 1].copy()

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
        got = dict(rows_by_id(self._conn, "SELECT id, value FROM residuals WHERE id IN ({})",
                              ids.tolist()))
        if not got:
            raise MemoryStoreError(f"the memory at {self.path} has no ResMem residuals: fit them "
                                   f"with memory.resmem.ResMem(memory, logits).fit() first")
        width = len(next(iter(got.values()))) // 4
        out = np.full((len(ids), width), np.nan, np.float32)
        for r, i in enumerate(ids.tolist()):
            if i in got:
                out[r] = np.frombuffer(got[i], dtype="<f4")
        return out
