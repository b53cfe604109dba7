"""`procmem memory verify`: check that a memory's files agree and that every erasure finished.

Without `repair` nothing is written (the memory is opened read-only). Checks, in order: no
temporaries left by killed writers (they may hold removed data); SQLite integrity (``PRAGMA
quick_check``) and format; the edit log's versions end at the store version; no stale index
cache of a kind that keeps none; no pending erasure ("erasure incomplete"); every item's
record in ``vectors.f32`` hashes to its recorded sha256 and records no item names are zero;
the index holds exactly SQLite's ids, and an IVF-PQ cache file's content matches the slot
file (each stored code decodes as close to its item's vector as a fresh encoding does: a
rewritten sidecar cannot hide a wrong index); the edit log's removals and the receipts agree.
With `repair`, the memory is first opened for writing (which migrates it, sweeps temporaries,
zeroes stray records and finishes pending erasures) and a bad IVF-PQ cache is rebuilt from
the slot file, keeping its training.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from procmem.core.atomic import temporaries
from procmem.memory import index as index_mod
from procmem.memory.errors import MemoryStoreError
from procmem.memory.recheck import cross_check
from procmem.memory.schema import INDEX_JSON, SQLITE_NAME, VECTORS_NAME
from procmem.memory.store import VisualMemory
from procmem.memory.vectors import vector_sha256s


def verify(path, *, repair: bool = False) -> dict:
    """{'ok', 'problems', 'notes', 'repaired', 'count', 'version'}."""
    path = Path(path)
    problems: list[str] = []
    notes: list[str] = []
    report = {"ok": False, "problems": problems, "notes": notes, "repaired": [], "count": None,
              "version": None}
    db = path / SQLITE_NAME
    if not db.is_file():
        problems.append(f"{db} is missing")
        return report
    if repair:
        try:
            report["repaired"] = _repair(path)
        except MemoryStoreError as e:
            problems.append(f"repair failed: {e}")
            return report
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            qc = [r[0] for r in conn.execute("PRAGMA quick_check")]
            if qc != ["ok"]:
                problems.append(f"{SQLITE_NAME} integrity: {'; '.join(qc[:5])}")
            fmt = conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()[0]
            version = int(conn.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0])
            last = conn.execute("SELECT max(version) FROM edits").fetchone()[0]
        finally:
            conn.close()
    except (sqlite3.DatabaseError, TypeError, ValueError) as e:
        problems.append(f"{SQLITE_NAME} is unreadable: {e}")
        return report
    if fmt == "1":
        problems.append("format-1 memory (vectors inside SQLite, where removals can leave bytes "
                        "behind): open it once for writing, or run verify --repair, to migrate it")
        return report
    if last != version:
        problems.append(f"edit log ends at version {last} but the store is at {version}")
    if problems:
        return report
    left = temporaries(path)
    if left:
        problems.append(f"{len(left)} temporaries left by killed writers (they may hold removed "
                        f"data): {', '.join(p.name for p in left[:5])}; the next open (or "
                        f"--repair) deletes them")
    try:
        mem = VisualMemory.open(path, read_only=True)
    except MemoryStoreError as e:
        problems.append(str(e))
        return report
    try:
        report["count"], report["version"] = len(mem), mem.version
        _check_files(mem, problems, notes)
        problems.extend(cross_check(mem))
    finally:
        mem.close()
    report["ok"] = not problems
    return report


def _check_files(mem: VisualMemory, problems: list[str], notes: list[str]) -> None:
    keep = {mem.index_file.name, INDEX_JSON} if mem._kind.cached else set()
    for name in sorted(({k.file for k in index_mod.INDEX_TABLE.values()} | {INDEX_JSON}) - keep):
        if (mem.path / name).exists():
            problems.append(f"stale index cache {name} (the {mem.index_kind} index keeps none; "
                            f"format 1 cached every vector in it): the next open deletes it")
    for r in mem.pending_erasures:
        failed = r["attempts"][-1]["failed"] if r["attempts"] else None
        problems.append(f"erasure incomplete: the removal at version {r['version_after']} "
                        f"({len(r['items'])} items) " + (f"failed its checks ({'; '.join(failed.values())})"
                                                         if failed else "was interrupted before its receipt")
                        + ": run `procmem memory verify --repair` (or open the memory) to finish it")
    bad = []
    for ids, vecs in mem.iter_vectors():
        sha = dict(mem.connection.execute(
            f"SELECT id, sha256 FROM items WHERE id BETWEEN {int(ids[0])} AND {int(ids[-1])}"))
        bad += [int(i) for i, h in zip(ids, vector_sha256s(vecs)) if h != sha[int(i)]]
    if bad:
        problems.append(f"{len(bad)} items whose records in {VECTORS_NAME} do not match their "
                        f"sha256: {bad[:10]}")
    slots, uses = np.unique(mem._slots, return_counts=True)
    if (uses > 1).any():
        problems.append(f"items sharing a record of {VECTORS_NAME} (slots "
                        f"{slots[uses > 1][:10].tolist()}): restore the memory from a backup or "
                        f"rebuild it from its embeddings")
    free = mem._unused(mem._vec.slots)
    stray = free[mem._vec.nonzero(free)]
    if len(stray) or mem._vec.size % mem._vec.record:
        problems.append(f"{len(stray)} records of {VECTORS_NAME} that no item names hold data (a "
                        f"killed add): the next open zeroes them")
    have = np.sort(mem.index.ids()) if mem.index.ntotal else np.empty(0, np.int64)
    if not np.array_equal(have, mem.ids):
        problems.append(f"index holds {len(have)} ids, SQLite {len(mem)}; differing: "
                        f"{np.setxor1d(have, mem.ids)[:10].tolist()}")
    if not mem._kind.cached:
        notes.append(f"{mem.index_kind} index: built from {VECTORS_NAME} on open (no cache)")
        return
    cache, version = mem._load_index_file()
    if cache is None:
        if mem.index_file.exists():
            problems.append(f"index cache {mem.index_file.name} does not match {INDEX_JSON} "
                            f"(sha256) or is unreadable: it will be rebuilt on open")
        return
    if version != mem.version:
        notes.append(f"index cache reflects version {version}, store is at {mem.version}: "
                     f"replayed on open")
        return
    wrong = ivfpq_mismatches(mem, cache)
    if wrong:
        problems.append(f"index cache {mem.index_file.name} does not hold SQLite's items: "
                        f"{len(wrong)} ids missing, extra or with codes of another vector "
                        f"({wrong[:10]}); run verify --repair to rebuild it from {VECTORS_NAME}")


def ivfpq_mismatches(mem: VisualMemory, cache) -> list[int]:
    """Ids where an IVF-PQ index differs from the store: missing, extra, or stored with a code
    that decodes farther from the item's vector than a fresh encoding does."""
    ids, stored = cache.stored()
    order = np.argsort(ids)
    ids, stored = ids[order], stored[order]
    wrong = np.setxor1d(ids, mem.ids).tolist()
    common = np.intersect1d(ids, mem.ids)
    for start in range(0, len(common), 50_000):
        part = common[start:start + 50_000]
        x = mem._vectors_unchecked(part.tolist())
        err_stored = np.linalg.norm(x - stored[np.searchsorted(ids, part)], axis=1)
        err_fresh = np.linalg.norm(x - cache.encoded(x), axis=1)
        wrong += part[err_stored > err_fresh + 1e-4].tolist()
    return sorted(wrong)


def _repair(path: Path) -> list[str]:
    """Open for writing (the open does the repairs) and rebuild a bad IVF-PQ cache."""
    done = []
    with VisualMemory.open(path) as mem:
        if not mem.writable:
            raise MemoryStoreError(f"another process holds {path}: close it and repair again")
        if mem.swept:
            done.append(f"deleted {mem.swept} temporaries")
        if mem.zeroed_on_open:
            done.append(f"zeroed {mem.zeroed_on_open:,} bytes of records no item names")
        for r in mem.finished_on_open:
            done.append(f"finished the erasure of version {r.version_after}: receipt "
                        f"{'passed' if r.passed else 'FAILED'} ({r.path})")
        if mem._kind.cached and mem.index.ntotal and ivfpq_mismatches(mem, mem.index):
            mem.index.index.reset()  # keeps the training; the lists are refilled from the slots
            for ids, vecs in mem.iter_vectors():
                mem.index.add(ids, vecs)
            mem._write_index_cache()
            done.append(f"rebuilt {mem.index_file.name} from {VECTORS_NAME}")
    return done
