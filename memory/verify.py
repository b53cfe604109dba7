"""`procmem memory verify`: check that a memory's files agree with each other.

Checks, in order: SQLite integrity (``PRAGMA quick_check``); every stored vector's bytes hash
to its recorded sha256; the edit log's versions end at the store version; the index cache on
disk matches its sidecar (sha256, version); and, after opening (which reconciles the cache),
the index holds exactly SQLite's ids and, for exact indexes, the same vector bytes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np

from procmem.core.hashing import sha256_file
from procmem.memory import index as index_mod
from procmem.memory.errors import MemoryStoreError
from procmem.memory.schema import INDEX_JSON, JSON_NAME, SQLITE_NAME
from procmem.memory.store import VisualMemory
from procmem.memory.vectors import vector_sha256


def verify(path) -> dict:
    """{'ok': bool, 'problems': [str], 'notes': [str], 'count': int, 'version': int}."""
    path = Path(path)
    problems: list[str] = []
    notes: list[str] = []
    report = {"ok": False, "problems": problems, "notes": notes, "count": None, "version": None}
    db = path / SQLITE_NAME
    if not db.is_file():
        problems.append(f"{db} is missing")
        return report
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            qc = [r[0] for r in conn.execute("PRAGMA quick_check")]
            if qc != ["ok"]:
                problems.append(f"{SQLITE_NAME} integrity: {'; '.join(qc[:5])}")
            dim = int(conn.execute("SELECT value FROM meta WHERE key='dim'").fetchone()[0])
            version = int(conn.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0])
            bad = []
            for i, sha, blob in conn.execute("SELECT id, sha256, vector FROM items"):
                if len(blob) != 4 * dim or hashlib.sha256(blob).hexdigest() != sha:
                    bad.append(i)
            if bad:
                problems.append(f"{len(bad)} items whose vector bytes do not match their sha256: "
                                f"{bad[:10]}")
            last = conn.execute("SELECT max(version) FROM edits").fetchone()[0]
            if last != version:
                problems.append(f"edit log ends at version {last} but the store is at {version}")
        finally:
            conn.close()
    except (sqlite3.DatabaseError, TypeError, ValueError) as e:
        problems.append(f"{SQLITE_NAME} is unreadable: {e}")
        return report
    side = path / INDEX_JSON
    if side.is_file():
        try:
            meta = json.loads(side.read_text())
            data = path / index_mod.kind(meta["kind"]).file
            if not data.is_file() or sha256_file(data) != meta["sha256"]:
                problems.append(f"index cache {data.name} does not match {INDEX_JSON} (sha256): "
                                f"it will be rebuilt from SQLite on open")
            elif meta["version"] != version:
                notes.append(f"index cache reflects version {meta['version']}, store is at "
                             f"{version}: replayed on open")
        except (ValueError, KeyError, OSError, MemoryStoreError) as e:
            problems.append(f"{INDEX_JSON} unreadable ({e})")
    else:
        notes.append("no index cache on disk (written on close/flush; rebuilt on open)")
    try:
        mj = json.loads((path / JSON_NAME).read_text())
        if mj.get("version") != version:
            notes.append(f"{JSON_NAME} says version {mj.get('version')}, store {version}: "
                         f"rewritten on open")
    except (OSError, ValueError):
        notes.append(f"{JSON_NAME} missing or unreadable: rewritten on open")
    if problems:
        return report
    try:
        mem = VisualMemory.open(path)
    except MemoryStoreError as e:
        problems.append(str(e))
        return report
    try:
        report["count"], report["version"] = len(mem), mem.version
        have = np.sort(mem.index.ids())
        if mem.index.ntotal != len(mem) or not np.array_equal(have, mem.ids):
            problems.append(f"index holds {mem.index.ntotal} ids, SQLite {len(mem)}; differing: "
                            f"{np.setxor1d(have, mem.ids)[:10].tolist()}")
        elif mem.index.exact:
            sha = dict(mem.connection.execute("SELECT id, sha256 FROM items"))
            for ids, _ in mem.iter_vectors():
                vecs = mem.index.vectors(ids)
                bad = [int(i) for i, v in zip(ids, vecs) if vector_sha256(v) != sha[int(i)]]
                if bad:
                    problems.append(f"index vectors differ from SQLite's for ids {bad[:10]}")
                    break
        else:
            notes.append(f"{mem.index_kind} index is lossy: ids and counts checked, not bytes")
    finally:
        mem.close()
    report["ok"] = not problems
    return report
