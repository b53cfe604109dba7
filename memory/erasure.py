"""Removal as an erasure that either completes or is finished by the next open (issue 12).

Geirhos et al. 2024: removing knowledge is deleting entries, not retraining. Here a removal is
complete only when no byte of any removed vector is left in any file of the memory directory,
and every step is safe to be killed at:

(a) one SQLite transaction deletes the rows (pruning counts and residual rows go with them),
    bumps the version, logs the edit and records the *pending erasure*: selector, ids,
    labels, sources, sha256 and slots, versions (no vector byte);
(b) the items' records in the slot files are zero-filled and fsynced;
(c) the IVF-PQ cache is rewritten without them (exact kinds keep no cache), stale caches and
    temporaries are deleted, the WAL is checkpointed and truncated;
(d) the pruning counts are recomputed, the checks run (memory.receipts), the receipt is
    written atomically, and the pending record is cleared, only if every check passed.

The removed vectors' bytes are read from their records before (a), so the checks can look for
every 64-byte piece of them. Opening a memory finds any pending erasure and, before anything
reads a vector, holds the bytes of its records that are still intact and zeroes them; once
the index is built it finishes (c) and (d) and issues the receipt that was owed. A failed
check leaves the erasure pending: the memory reports "erasure incomplete" (verify exits 1)
and every later open tries again. A removal is refused before anything changes when a kept
item holds the very same vector (its bytes could not go). `Erasure` is a part of
`memory.store.VisualMemory`.
"""

from __future__ import annotations

import json
import time

import numpy as np

from procmem.core.atomic import sweep_temporaries
from procmem.core.clock import utc_now
from procmem.memory import receipts
from procmem.memory.errors import IdError, MemoryStoreError
from procmem.memory.killpoints import kill_point
from procmem.memory.schema import VECTORS_NAME, checkpoint, log_edit, rows_by_id
from procmem.memory.selection import Selection
from procmem.memory.vectors import sha_prefixes, vector_sha256


class DuplicateVectorError(IdError):
    """A kept item holds exactly the vector of an item chosen for removal."""


class Erasure:
    """`remove` and the erasure protocol of VisualMemory."""

    def remove(self, ids=None, *, selection: Selection | None = None, allow_empty: bool = False,
               given: dict | None = None, **selector):
        """Remove the items a selector chooses (`ids`, or one of VisualMemory.select's keyword
        selectors, or a `selection` it returned) and return the unlearning receipt (contract
        7), also saved under receipts/. Raises EmptySelectionError for an empty selection
        unless `allow_empty` (then the receipt records that nothing matched)."""
        self._need_writable()
        sel = selection if selection is not None else self.select(
            ids, allow_empty=allow_empty, given=given, **selector)
        if sel.version != self.version:
            raise MemoryStoreError(f"this selection was made at version {sel.version} but the "
                                   f"memory at {self.path} is at version {self.version}: select again")
        doomed = np.asarray(sel.ids, np.int64)
        slots = self._slots[np.searchsorted(self._ids, doomed)] if len(doomed) else doomed
        rows = {i: (lab, src, sha) for i, lab, src, sha in rows_by_id(
            self._conn, "SELECT id, label, source, sha256 FROM items WHERE id IN ({})", doomed.tolist())}
        self._refuse_kept_duplicates(doomed, [rows[int(i)][2] for i in doomed])
        names = self.label_names
        items = [{"id": int(i), "label": int(rows[int(i)][0]), "label_name": names.get(rows[int(i)][0]),
                  "source": rows[int(i)][1], "sha256": rows[int(i)][2], "slot": int(s),
                  **({"similarity": sel.similarity[int(i)]} if int(i) in sel.similarity else {})}
                 for i, s in zip(doomed, slots)]
        held = self._intact(items)
        before = self.version
        record = {"version_before": before, "version_after": before + 1, "time": utc_now(),
                  "selector": sel.selector, "items": items, "attempts": [], "seconds": {}}
        t0 = time.perf_counter()
        with self._transaction() as conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed(id INTEGER PRIMARY KEY)")
            conn.execute("DELETE FROM doomed")
            conn.executemany("INSERT INTO doomed VALUES (?)", [(int(i),) for i in doomed])
            conn.execute("DELETE FROM items WHERE id IN (SELECT id FROM doomed)")
            conn.execute("DELETE FROM doomed")
            self._set_meta("version", before + 1)
            log_edit(conn, before + 1, "remove", len(doomed), {
                "ids": doomed.tolist(), "sha256": [it["sha256"] for it in items],
                "selector": sel.selector})
            conn.execute("INSERT INTO pending_erasures VALUES (?, ?)", (before + 1, json.dumps(record)))
        record["seconds"]["commit"] = round(time.perf_counter() - t0, 4)
        kill_point("remove:committed")
        self._pending[before + 1] = record
        self.index.remove(doomed)
        keep = ~np.isin(self._ids, doomed)
        self._ids, self._labels, self._slots = self._ids[keep], self._labels[keep], self._slots[keep]
        if self._sha_keys is not None:
            self._sha_keys = self._sha_keys[keep]
        self._index_dirty = self._kind.cached
        return self._erase(record, held)

    def _refuse_kept_duplicates(self, doomed: np.ndarray, hashes: list[str]) -> None:
        """Raise DuplicateVectorError when a kept item's sha256 is a removed one's. Items are
        matched on sha256 prefixes held in RAM (SQLite keeps no index on sha256: it cost more
        than the rest of an add), then compared in full."""
        if self._sha_keys is None:
            rows = self._conn.execute("SELECT sha256 FROM items ORDER BY id")
            self._sha_keys = sha_prefixes([r[0] for r in rows])
        near = self._ids[np.isin(self._sha_keys, sha_prefixes(hashes))]
        near = near[~np.isin(near, doomed)]
        wanted = set(hashes)
        kept = sorted((int(i), h) for i, h in rows_by_id(
            self._conn, "SELECT id, sha256 FROM items WHERE id IN ({})", near.tolist()) if h in wanted)
        if kept:
            twin = {h: int(i) for i, h in zip(doomed, hashes)}
            pairs = ", ".join(f"{i} (same as {twin[h]})" for i, h in kept[:10])
            raise DuplicateVectorError(
                f"kept items of the memory at {self.path} hold exactly the vectors of items chosen "
                f"for removal: {pairs}; their bytes would stay on disk, so nothing was removed: "
                f"add them to the selection (e.g. --ids) or remove them first")

    def _intact(self, items: list[dict]) -> dict[int, np.ndarray]:
        """{id: vector} of the items whose records still hold their vector (sha256 checked)."""
        vecs = self._vec.read([it["slot"] for it in items])
        return {it["id"]: v for it, v in zip(items, vecs) if vector_sha256(v) == it["sha256"]}

    def _zero_records(self, items: list[dict]) -> dict:
        """Zero-fill and fsync the items' records in every slot file, then read them back."""
        slots = np.array([it["slot"] for it in items], np.int64)
        files, written = [VECTORS_NAME], self._vec.zero(slots)
        nonzero = self._vec.nonzero(slots)
        if self._res is not None:
            files.append(self._res.path.name)
            written += self._res.zero(slots)
            nonzero |= self._res.nonzero(slots)
        return {"records": len(slots), "bytes": written, "files": files,
                "nonzero": [it["id"] for it, bad in zip(items, nonzero) if bad]}

    def _erase(self, record: dict, held: dict[int, np.ndarray]):
        """Steps (b)-(d) for one committed removal; returns its receipt."""
        clock, took = time.perf_counter(), record.setdefault("seconds", {})

        def lap(step: str) -> None:
            nonlocal clock
            took[step] = round(time.perf_counter() - clock, 4)
            clock = time.perf_counter()

        erased = self._zero_records(record["items"])
        lap("zero_fill")
        kill_point("remove:slots-zeroed")
        if self._kind.cached:
            self._write_index_cache()
        self._drop_stale_caches()
        sweep_temporaries(self.path)
        checkpoint(self._conn)
        lap("caches_and_wal")
        self._after_edit()
        lap("pruning_counts")
        receipt = receipts.issue(self, record, held, erased)
        version = record["version_after"]
        with self._transaction() as conn:
            if receipt.passed:
                conn.execute("DELETE FROM pending_erasures WHERE version=?", (version,))
            else:
                record["attempts"].append({"time": receipt.completed, "failed": {
                    n: c["detail"] for n, c in receipt.checks.items() if not c["passed"]}})
                conn.execute("UPDATE pending_erasures SET record=? WHERE version=?",
                             (json.dumps(record), version))
        if receipt.passed:
            del self._pending[version]
        self._update_free()
        return receipt

    @property
    def pending_erasures(self) -> list[dict]:
        """Committed removals whose erasure has not passed its checks yet, oldest first."""
        return [self._pending[v] for v in sorted(self._pending)]

    def _hold_and_zero_pending(self) -> dict[int, dict[int, np.ndarray]]:
        """On open, before any read: each pending erasure's intact vectors, then zero them."""
        held = {}
        for version, record in sorted(self._pending.items()):
            held[version] = self._intact(record["items"])
            self._zero_records(record["items"])
        return held

    def _finish_pending(self, held: dict[int, dict[int, np.ndarray]]) -> list:
        """Finish every pending erasure (steps b-d) and issue the receipts that were owed."""
        out = []
        for version, record in sorted(self._pending.items()):
            record["interrupted"] = not record["attempts"]
            out.append(self._erase(record, held.get(version, {})))
        return out
