"""A format-1 memory (vectors as SQLite BLOBs, the layout before issue 12) opens, migrates
once into a fresh database without them, and answers queries exactly as before."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import numpy as np

from procmem.memory import receipts
from procmem.memory.index import faiss_blas
from procmem.memory.scan import find_pieces
from procmem.memory.schema import SCHEMA
from procmem.memory.store import VisualMemory
from procmem.memory.verify import verify
from tests.memory.conftest import unit

# format 1's schema: items held the vector, residuals their value; no slots, no pending erasures
FORMAT1_SCHEMA = SCHEMA
for new, old in (("slot INTEGER NOT NULL", "vector BLOB NOT NULL"),
                 ("CASCADE);\nCREATE TABLE pending_erasures(version INTEGER PRIMARY KEY, record TEXT "
                  "NOT NULL);", "CASCADE, value BLOB NOT NULL);")):
    assert new in FORMAT1_SCHEMA
    FORMAT1_SCHEMA = FORMAT1_SCHEMA.replace(new, old)


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def format1_memory(path, x, removed):
    """What procmem wrote before format 2: vectors as BLOBs, a removal by DELETE with
    secure_delete and a WAL checkpoint, its receipt, and the flat index cache."""
    import faiss

    path.mkdir()
    c = sqlite3.connect(path / "memory.sqlite", isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA secure_delete=ON")
    c.executescript(FORMAT1_SCHEMA)
    c.execute("BEGIN")
    meta = {"format": "1", "dim": str(x.shape[1]), "metric": "cosine", "fingerprint": "enc-old",
            "index": "flat", "index_options": "{}", "created": "2026-12-01T00:00:00.000+00:00",
            "next_id": str(len(x)), "version": "2"}
    c.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    c.execute("INSERT INTO label_names VALUES (0, 'old')")
    blobs = [v.astype("<f4").tobytes() for v in x]
    c.executemany("INSERT INTO items VALUES (?,?,?,?,?,1)",
                  [(i, i % 2, f"/src/{i}.png", _sha(b), b) for i, b in enumerate(blobs)])
    c.executemany("INSERT INTO residuals VALUES (?, ?)",
                  [(i, np.array([i, -i], "<f4").tobytes()) for i in range(0, len(x), 3)])
    log = [(0, "create", 0, {}), (1, "add", len(x), {"min_id": 0, "max_id": len(x) - 1}),
           (2, "remove", len(removed), {"ids": removed, "sha256": [_sha(blobs[i]) for i in removed]})]
    c.executemany("INSERT INTO edits(version, time, op, count, detail) VALUES (?, 't', ?, ?, ?)",
                  [(v, op, n, json.dumps(d)) for v, op, n, d in log])
    c.execute("COMMIT")
    c.execute("BEGIN")
    c.executemany("DELETE FROM items WHERE id=?", [(i,) for i in removed])
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    keep = np.setdiff1d(np.arange(len(x)), removed)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(x.shape[1]))
    index.add_with_ids(x[keep], keep)
    faiss.write_index(index, str(path / "index.faiss"))
    (path / "index.json").write_text(json.dumps({"version": 2, "kind": "flat", "ntotal": len(keep),
                                                 "sha256": _sha((path / "index.faiss").read_bytes())}))
    (path / "receipts").mkdir()
    (path / "receipts" / "remove-v00000002.json").write_text(json.dumps({
        "removed_ids": removed, "sha256": log[2][3]["sha256"], "time": "t", "version_before": 1,
        "version_after": 2, "memory": str(path), "checks": {"not_on_disk": {"passed": True,
                                                                              "detail": "old"}},
        "passed": True}))
    return index


def test_a_format_1_memory_migrates_once_and_answers_as_before(tmp_path):
    rng = np.random.default_rng(0)
    x = unit(rng.normal(size=(2200, 64)))
    removed = sorted(rng.choice(2200, 1219, replace=False).tolist())
    old_index = format1_memory(tmp_path / "m", x, removed)
    q = unit(x[:30] + 0.3 * rng.normal(size=(30, 64)))
    with faiss_blas():  # as format 1's VisualMemory.search ran it
        want_s, want_i = old_index.search(q, 10)
    report = verify(tmp_path / "m")
    assert not report["ok"] and "format-1 memory" in report["problems"][0]
    with VisualMemory.open(tmp_path / "m") as m:  # migrates
        sims, ids = m.search(q, 10)
        assert np.array_equal(ids, want_i) and np.array_equal(sims, want_s)
        assert m.version == 2 and len(m) == 2200 - 1219
        assert [e["op"] for e in m.edit_log()] == ["create", "add", "remove", "migrate"]
        keep = m.ids
        np.testing.assert_array_equal(m.vectors(keep), x[keep])
        has = keep[keep % 3 == 0]
        np.testing.assert_array_equal(m.residuals(has[:3]), [[i, -i] for i in has[:3]])
        assert [r[1] for r in m.connection.execute("PRAGMA table_info(items)")][-2:] == ["slot", "version"]
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert "index.faiss" not in names and "vectors.f32" in names  # the cache held every vector
    # nothing of the removal made under format 1 survives: the database was built anew
    assert find_pieces(sorted(p for p in (tmp_path / "m").rglob("*") if p.is_file()), x[removed]) == {}
    assert receipts.load(tmp_path / "m" / "receipts" / "remove-v00000002.json").format == 1
    assert verify(tmp_path / "m")["ok"]  # the old receipt and the log still agree
    with VisualMemory.open(tmp_path / "m") as m:  # once: a second open changes nothing
        assert [e["op"] for e in m.edit_log()][-1] == "migrate" and m.remove(keep[:3]).passed


def test_a_killed_migration_is_redone_by_the_next_open(tmp_path):
    x = unit(np.random.default_rng(1).normal(size=(50, 16)))
    format1_memory(tmp_path / "m", x, [0, 1])
    shutil.copy(tmp_path / "m" / "memory.sqlite", tmp_path / "m" / ".memory.sqlite.build.tmp")
    (tmp_path / "m" / "vectors.f32").write_bytes(b"half written")  # killed before the swap
    with VisualMemory.open(tmp_path / "m") as m:
        assert len(m) == 48
        np.testing.assert_array_equal(m.vectors([2, 49]), x[[2, 49]])
    assert verify(tmp_path / "m")["ok"]
    assert not (tmp_path / "m" / ".memory.sqlite.build.tmp").exists()
