"""VisualMemory on disk: persistence, bad input, fingerprints, backends, corruption."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from procmem.memory.errors import (
    BadVectorsError,
    CorruptStoreError,
    FingerprintError,
    IdError,
    MemoryStoreError,
)
from procmem.memory.index import KINDS, IndexConfigError, faiss_blas, kind
from procmem.memory.store import VisualMemory, vector_sha256
from procmem.memory.verify import verify
from tests.memory.conftest import unit


def test_round_trip_keeps_items_names_sources_and_log(tmp_path, blobs):
    x, y, xq, yq = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "enc-A")
    ids = m.add(x, y, sources=[f"s/{i}.png" for i in range(len(x))], label_names={0: "a", 1: "b", 2: "c"})
    s1, i1 = m.search(xq, 5)
    m.close()
    meta = json.loads((tmp_path / "m" / "memory.json").read_text())
    assert meta["dim"] == 16 and meta["metric"] == "cosine" and meta["fingerprint"] == "enc-A"
    assert meta["version"] == 1 and meta["index"] == "flat"
    m = VisualMemory.open(tmp_path / "m")
    s2, i2 = m.search(xq, 5)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)
    assert m.label_names == {0: "a", 1: "b", 2: "c"} and m.num_classes == 3
    assert m.sources(ids[:2]) == ["s/0.png", "s/1.png"]
    np.testing.assert_array_equal(m.vectors(ids[:3]), x[:3])
    row = m.connection.execute("SELECT sha256 FROM items WHERE id=?", (int(ids[0]),)).fetchone()
    assert row[0] == vector_sha256(x[0])
    # no vector in SQLite: every float lives in vectors.f32, one record per slot
    columns = [r[1] for r in m.connection.execute("PRAGMA table_info(items)")]
    assert columns == ["id", "label", "source", "sha256", "slot", "version"]
    raw = np.fromfile(tmp_path / "m" / "vectors.f32", "<f4").reshape(-1, 16)
    np.testing.assert_array_equal(raw[m._slots[:3]], x[:3])
    assert [e["op"] for e in m.edit_log()] == ["create", "add"]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        m.connection.execute("DELETE FROM edits")
    dec = m.classify(xq, 10, "rank")
    assert np.mean(dec.pred == yq) > 0.95
    ex = dec.explain(0, m.label_names)
    assert len(ex["neighbours"]) == 10
    assert ex["neighbours"][0]["similarity"] >= ex["neighbours"][1]["similarity"]
    assert verify(tmp_path / "m")["ok"]
    m.close()


def test_new_class_added_without_training_is_recognised(tmp_path, blobs):
    x, y, xq, yq = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "enc")
    m.add(x[y < 2], y[y < 2])
    assert not np.any(m.classify(xq[yq == 2], 5).pred == 2)
    m.add(x[y == 2], y[y == 2], label_names={2: "new"})
    assert np.all(m.classify(xq[yq == 2], 5).pred == 2)
    m.close()


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_exact_backends_agree_with_faiss_flat(tmp_path, blobs, kind):
    x, y, xq, _ = blobs
    flat = VisualMemory.create(tmp_path / "flat", 16, "e")
    other = VisualMemory.create(tmp_path / kind, 16, "e", index=kind)
    for m in (flat, other):
        m.add(x, y)
        m.remove(np.arange(0, 40, 3))
    s1, i1 = flat.search(xq, 7)
    s2, i2 = other.search(xq, 7)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2, atol=1e-5)
    other.close()
    assert verify(tmp_path / kind)["ok"]
    flat.close()


def test_the_flat_index_answers_as_faiss_idmap_over_many_adds_and_removals():
    """memory.index.FlatIndex (faiss.knn over memory.rows) against IndexIDMap2(IndexFlatIP)."""
    import faiss

    rng = np.random.default_rng(3)
    x, q = unit(rng.normal(size=(900, 12))), unit(rng.normal(size=(40, 12)))
    ids = rng.permutation(5000)[:900].astype(np.int64)  # not in order
    ref = faiss.IndexIDMap2(faiss.IndexFlatIP(12))
    flat = kind("flat").empty(12)
    for start, stop in ((0, 10), (10, 11), (11, 400), (400, 900), (900, 900)):  # past capacity
        flat.add(ids[start:stop], x[start:stop])
        ref.add_with_ids(x[start:stop], ids[start:stop])
    gone = ids[rng.choice(900, 300, replace=False)]
    assert flat.remove(gone) == 300 == ref.remove_ids(faiss.IDSelectorBatch(gone))
    flat.reserve(2000)  # room made in advance changes nothing
    for k in (1, 10, 700):
        s1, i1 = flat.search(q, k)
        with faiss_blas():  # the same kernel (BLAS from 20 queries), so the same bits
            s2, i2 = ref.search(q, k)
        assert np.array_equal(i1, i2) and np.array_equal(s1[i1 >= 0], s2[i2 >= 0])
        assert (s1[i1 < 0] == -np.inf).all()
    kept = np.setdiff1d(ids, gone)
    np.testing.assert_array_equal(flat.vectors(kept[::7]), ref.reconstruct_batch(kept[::7]))
    assert sorted(flat.ids()) == sorted(kept)


@pytest.mark.parametrize("shift_max", [0, 4096])
def test_rows_removal_keeps_the_order_either_way(monkeypatch, shift_max):
    """memory.rows removes by moving runs down (few removals) or by a masked copy (many):
    both leave exactly the kept rows and ids, in their order, whatever is removed."""
    from procmem.memory import rows as rows_mod

    monkeypatch.setattr(rows_mod, "SHIFT_MAX", shift_max)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(500, 6)).astype(np.float32)
    ids = rng.permutation(2000)[:500].astype(np.int64)
    r = rows_mod.Rows(6)
    r.add(ids, x)
    keep = np.ones(500, bool)
    for gone in ([ids[0]], [ids[-1]], ids[10:60], ids[rng.choice(500, 150, replace=False)], [], ids):
        r.remove(gone)
        keep &= ~np.isin(ids, gone)
        assert np.array_equal(r.ids, ids[keep]) and np.array_equal(r.vectors, x[keep])
    assert len(r) == 0


def test_ivfpq_recall_against_exact(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 32)).astype(np.float32)
    m = VisualMemory.create(tmp_path / "ivf", 32, "e", index="ivfpq", nlist=16, m=8, nbits=6, nprobe=8)
    m.add(x, np.zeros(len(x), int))
    exact = VisualMemory.create(tmp_path / "flat", 32, "e")
    exact.add(x, np.zeros(len(x), int))
    q = x[:50] + 0.05 * rng.normal(size=(50, 32))
    _, ia = m.search(q, 10)
    se, ie = exact.search(q, 10)
    assert np.mean(ia[:, 0] == ie[:, 0]) > 0.8
    refined = VisualMemory.create(tmp_path / "ivf-r", 32, "e", index="ivfpq", nlist=16, m=8,
                                  nbits=6, nprobe=8, refine=4)
    refined.add(x, np.zeros(len(x), int))
    sr, ir = refined.search(q, 10)
    recall = lambda got: np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, ie)])  # noqa: E731
    assert recall(ir) >= recall(ia) and np.mean(ir[:, 0] == ie[:, 0]) > 0.95
    np.testing.assert_allclose(sr[ir == ie], se[ir == ie], atol=1e-5)  # exact similarities
    refined.close()
    m.remove(np.arange(10))
    m.close()
    r = verify(tmp_path / "ivf")
    assert r["ok"] and r["count"] == 1990
    exact.close()


def test_bad_inputs_raise_and_change_nothing(tmp_path, blobs):
    x, y, _, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "enc")
    ids = m.add(x[:20], y[:20])
    v = m.version
    bad = x[:3].copy()
    bad[1, 2] = np.nan
    cases = [
        (BadVectorsError, "16-d", lambda: m.add(x[:3, :8], y[:3])),
        (BadVectorsError, r"rows \[1\].*NaN", lambda: m.add(bad, y[:3])),
        (BadVectorsError, "NaN or inf", lambda: m.add(np.full((2, 16), np.inf), [0, 0])),
        (BadVectorsError, "zero vectors", lambda: m.add(np.zeros((2, 16)), [0, 0])),
        (IdError, "duplicate ids within the batch", lambda: m.add(x[:2], y[:2], ids=[100, 100])),
        (IdError, "already in the memory", lambda: m.add(x[:2], y[:2], ids=[int(ids[0]), 500])),
        (MemoryStoreError, "labels must be 3 integers", lambda: m.add(x[:3], [0, 1])),
        (MemoryStoreError, "labels must be >= 0", lambda: m.add(x[:2], [0, -1])),
        (IdError, r"not in the memory.*\[999\].*nothing was removed", lambda: m.remove([int(ids[0]), 999])),
    ]
    for err, match, fn in cases:
        with pytest.raises(err, match=match):
            fn()
    assert m.version == v and len(m) == 20
    m.remove(ids[:2])
    with pytest.raises(IdError, match="never comes back"):
        m.add(x[:1], y[:1], ids=[int(ids[0])])
    m.close()
    assert verify(tmp_path / "m")["ok"]


def test_fingerprint_and_width_mismatch_name_both(tmp_path, blobs):
    x, y, xq, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "sha-A")
    m.add(x, y)
    with pytest.raises(FingerprintError, match="sha-B.*sha-A"):
        m.search(xq, 3, fingerprint="sha-B")
    with pytest.raises(FingerprintError, match="8-d.*16-d"):
        m.classify(xq[:, :8], 3)
    with pytest.raises(FingerprintError, match="sha-B"):
        m.add(x[:1], y[:1], fingerprint="sha-B")
    m.close()
    with pytest.raises(FingerprintError):
        VisualMemory.open(tmp_path / "m", fingerprint="sha-B")
    VisualMemory.open(tmp_path / "m", fingerprint="sha-A").close()


def test_corrupt_files(tmp_path, blobs):
    x, y, xq, _ = blobs
    rng = np.random.default_rng(0)
    big = unit(rng.normal(size=(300, 16)))
    m = VisualMemory.create(tmp_path / "ivf", 16, "e", index="ivfpq", nlist=4, m=4, nbits=4)
    m.add(big, np.zeros(300, int))
    _, want = m.search(big[:5], 3)
    m.close()
    # A damaged IVF-PQ cache is rebuilt from SQLite and the slot file.
    idx = tmp_path / "ivf" / "index.faiss"
    idx.write_bytes(idx.read_bytes()[:100])
    assert any("does not match" in p for p in verify(tmp_path / "ivf")["problems"])
    with VisualMemory.open(tmp_path / "ivf") as m:
        assert m.search(big[:5], 3)[1][:, 0].tolist() == want[:, 0].tolist()
    assert verify(tmp_path / "ivf")["ok"]
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    m.add(x, y)
    m.close()
    # A record of vectors.f32 that no longer hashes to its sha256 is reported.
    vec = tmp_path / "m" / "vectors.f32"
    data = bytearray(vec.read_bytes())
    data[40] ^= 0xFF
    vec.write_bytes(bytes(data))
    assert any("do not match their sha256: [0]" in p for p in verify(tmp_path / "m")["problems"])
    # A truncated SQLite file cannot be repaired: a clear error, and verify says why.
    # Two items naming one record (SQLite keeps no UNIQUE index on slot): verify says so, and
    # an add whose free list names a record in use is refused before anything is written.
    with VisualMemory.open(tmp_path / "m") as m:
        m._free = m._slots[:2].copy()
        with pytest.raises(CorruptStoreError, match="names records in use; nothing was written"):
            m.add(x[:2], y[:2])
        assert len(m) == len(x) and m.version == 1
    c = sqlite3.connect(tmp_path / "m" / "memory.sqlite")
    c.execute("UPDATE items SET slot = 0 WHERE id = 1")
    c.commit()
    c.close()
    assert any("items sharing a record of vectors.f32 (slots [0])" in p
               for p in verify(tmp_path / "m")["problems"])
    db = tmp_path / "m" / "memory.sqlite"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
    with pytest.raises(CorruptStoreError, match="memory.sqlite"):
        VisualMemory.open(tmp_path / "m")
    assert not verify(tmp_path / "m")["ok"]
    db.write_bytes(b"not a database at all" * 100)
    with pytest.raises(CorruptStoreError, match="restore it"):
        VisualMemory.open(tmp_path / "m")
    with pytest.raises(MemoryStoreError, match="no visual memory"):
        VisualMemory.open(tmp_path / "nothing")
    with pytest.raises(MemoryStoreError, match="already holds"):
        VisualMemory.create(tmp_path / "m", 16, "e")


def test_index_kinds_are_entries_that_own_options_and_files(tmp_path, blobs):
    """The store asks the kind's entry (memory.index.INDEX_TABLE) for options and its file."""
    x, y, _, _ = blobs
    assert KINDS == ("flat", "ivfpq", "numpy", "torch")
    assert {k: kind(k).file for k in KINDS} == {"flat": "index.faiss", "ivfpq": "index.faiss",
                                                 "numpy": "index.npz", "torch": "index.npz"}
    cases = [
        ("index type flat takes no option nlist", dict(index="flat", nlist=4)),
        ("unknown index type 'hnsw'; choose one of flat, ivfpq", dict(index="hnsw")),
        ("nprobe must be an integer >= 1, got 0", dict(index="ivfpq", nprobe=0)),
        ("refine must be an integer >= 0, got 1.5", dict(index="ivfpq", refine=1.5)),
        ("m .sub-quantizers. dividing the dimension 16", dict(index="ivfpq", m=3)),
    ]
    for match, kwargs in cases:
        with pytest.raises(IndexConfigError, match=match):
            VisualMemory.create(tmp_path / "bad", 16, "e", **kwargs)
        assert not (tmp_path / "bad").exists()  # refused before anything is written
    m = VisualMemory.create(tmp_path / "np", 16, "e", index="numpy")
    m.add(x, y)
    m.close()
    assert {kind(k).cached for k in KINDS} == {False, True} and kind("ivfpq").cached
    # exact kinds keep no cache: the index is built from vectors.f32 on open
    assert not (tmp_path / "np" / "index.npz").exists() and not (tmp_path / "np" / "index.faiss").exists()


def test_an_emptied_ivfpq_memory_writes_no_index_and_retrains_on_the_next_add(tmp_path):
    x = np.random.default_rng(2).normal(size=(64, 16)).astype(np.float32)
    m = VisualMemory.create(tmp_path / "ivf", 16, "e", index="ivfpq", nlist=4, m=4, nbits=4)
    m.add(x, np.zeros(64, int))
    m.remove(label=0)
    m.close()
    assert not (tmp_path / "ivf" / "index.faiss").exists()  # an untrained index has no bytes
    with VisualMemory.open(tmp_path / "ivf") as m:
        ids = m.add(x, np.ones(64, int))
        assert len(m.index.ids()) == 64 and set(m.search(x[:3], 5)[1].ravel()) <= set(ids.tolist())
    assert verify(tmp_path / "ivf")["ok"]
