"""Erasure by construction (issue 12): no byte of a removed vector in any file of the memory
directory after a plain removal, after a kill at any step of it, or after a killed add."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from procmem.memory import receipts
from procmem.memory.erasure import DuplicateVectorError
from procmem.memory.resmem import ResMem
from procmem.memory.scan import find_pieces
from procmem.memory.store import VisualMemory
from procmem.memory.vectors import normalise
from procmem.memory.verify import verify
from tests.memory.conftest import unit

REPO = Path(__file__).resolve().parents[2]


def every_file(path) -> list[Path]:
    """Every file of the directory: SQLite and its WAL/-shm, slot files, caches, temporaries."""
    return sorted(p for p in Path(path).rglob("*") if p.is_file())


def residue(path, vectors) -> dict:
    return find_pieces(every_file(path), vectors)


@pytest.mark.parametrize("n, removed", [(10_000, 5_000), (2_200, 1_219)])
def test_a_plain_removal_leaves_no_byte_of_any_removed_vector(tmp_path, n, removed):
    """Issue 12, finding 1: SQLite with secure_delete kept 252 of 256 bytes of a removed vector
    after removing a random half of 10,000 (and after 1,219 of 2,200); the slot file keeps 0."""
    rng = np.random.default_rng(n)
    x = unit(rng.normal(size=(n, 64)))
    m = VisualMemory.create(tmp_path / "m", 64, "e")
    ids = m.add(x, rng.integers(0, 10, n), sources=[f"/data/{i}.png" for i in range(n)])
    doomed = np.sort(rng.choice(ids, removed, replace=False))
    r = m.remove(doomed)
    assert r.passed, r.checks
    assert residue(tmp_path / "m", x[doomed]) == {}
    kept = np.setdiff1d(ids, doomed)[:50]  # the scan does find what is still there
    assert set(residue(tmp_path / "m", x[kept])) == {str(tmp_path / "m" / "vectors.f32")}
    m.close()
    assert residue(tmp_path / "m", x[doomed]) == {}
    assert verify(tmp_path / "m")["ok"]
    with VisualMemory.open(tmp_path / "m") as m:  # freed records are reused, lowest first
        new = m.add(x[:3] + 0.5, [0, 0, 0])
        assert m._slots[np.isin(m.ids, new)].tolist() == doomed[:3].tolist()  # slot = id here
        _, got = m.search(x[kept[:5]], 1)
        assert got[:, 0].tolist() == kept[:5].tolist()


CHILD = """
import sys, numpy as np
from procmem.memory.store import VisualMemory
from procmem.memory.vectors import normalise
m = VisualMemory.open(sys.argv[1])
if sys.argv[2] == "remove":
    m.remove(np.arange(0, 400, 2))
else:
    m.add(np.random.default_rng(5).normal(size=(50, 32)), np.zeros(50, int))
m.close()
"""


def _memory(path, kind: str, x):
    opts = dict(nlist=4, m=4, nbits=4) if kind == "ivfpq" else {}
    m = VisualMemory.create(path, 32, "e", index=kind, **opts)
    m.add(x, np.arange(len(x)) % 3, sources=[f"s/{i}" for i in range(len(x))])
    m.close()


def _killed(path, op: str, point: str):
    env = {**os.environ, "PROCMEM_KILL_AT": point, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", CHILD, str(path), op], env=env).returncode


@pytest.mark.parametrize("kind, point", [("flat", "remove:committed"),
                                         ("flat", "remove:slots-zeroed"),
                                         ("ivfpq", "index:flush"),
                                         ("numpy", "remove:checked")])
def test_a_removal_killed_at_any_step_is_finished_by_the_next_open(tmp_path, kind, point):
    """Killed just after the commit, after the zero-fill, during the index flush (its
    temporary holds the index) or before the receipt: the memory reports the erasure
    incomplete; the next open finishes it before any read and issues the owed receipt."""
    x = unit(np.random.default_rng(0).normal(size=(1000, 32)))
    path = tmp_path / "m"
    _memory(path, kind, x)
    assert _killed(path, "remove", point) == -9
    doomed = np.arange(0, 400, 2)
    before = verify(path)
    assert not before["ok"] and any("erasure incomplete" in p or "temporaries" in p
                                    for p in before["problems"])
    with VisualMemory.open(path) as m:
        (r,) = m.finished_on_open
        assert r.passed and r.interrupted and r.removed_ids == doomed.tolist(), r.checks
        assert not m.contains(doomed).any() and len(m) == 800
        _, got = m.search(x[doomed[:20]], 5)
        assert not np.isin(got, doomed).any()
        assert m.pending_erasures == []
    assert residue(path, x[doomed]) == {}
    assert not any(p.name.endswith(".tmp") for p in every_file(path))
    assert receipts.load(r.path).passed and verify(path)["ok"]


@pytest.mark.parametrize("point, count", [("add:slots-written", 1000), ("add:committed", 1050)])
def test_a_killed_add_loses_nothing_committed_and_leaves_no_stray_vector(tmp_path, point, count):
    x = unit(np.random.default_rng(1).normal(size=(1000, 32)))
    path = tmp_path / "m"
    _memory(path, "flat", x)
    assert _killed(path, "add", point) == -9
    new = normalise(np.random.default_rng(5).normal(size=(50, 32)), 32)  # the child's bytes
    with VisualMemory.open(path) as m:
        assert len(m) == count and m.contains(np.arange(1000)).all()
        if count == 1000:  # not committed: its records were zeroed on open
            assert m.zeroed_on_open == 50 * 32 * 4 and residue(path, new) == {}
        else:
            np.testing.assert_array_equal(m.vectors(np.arange(1000, 1050)), new)
    assert verify(path)["ok"]


@pytest.mark.parametrize("point, resumed_at", [("add:slots-written", 0), ("add:committed", 50_000)])
def test_a_killed_build_resumes_and_ends_where_an_uninterrupted_one_does(tmp_path, capsys, point,
                                                                         resumed_at):
    """`procmem memory build` killed in its first chunk of 50,000 (records fsynced, rows not
    committed; or committed): the rerun resumes there and ends with the same ids, labels and
    vector bytes as a build that was never killed, and no stray record."""
    from procmem.cli import main

    rng = np.random.default_rng(7)
    x, y = unit(rng.normal(size=(60_000, 8))), rng.integers(0, 3, 60_000)
    npz = tmp_path / "features.npz"
    np.savez(npz, features=x, labels=y, fingerprint=np.asarray("e"))
    build = ["memory", "build", str(tmp_path / "m"), "--embeddings", str(npz), "--quiet"]
    env = {**os.environ, "PROCMEM_KILL_AT": point, "PYTHONPATH": str(REPO)}
    assert subprocess.run([sys.executable, "-m", "procmem", *build], env=env).returncode == -9
    assert main(build) == 0
    assert f"resuming the build of {tmp_path / 'm'} at item {resumed_at}\n" in capsys.readouterr().out
    assert main(["memory", "build", str(tmp_path / "clean"), *build[3:]]) == 0
    with VisualMemory.open(tmp_path / "m") as m, VisualMemory.open(tmp_path / "clean") as clean:
        assert m.zeroed_on_open == 0  # the rerun's open already zeroed a killed chunk's records
        assert [e["detail"].get("min_id") for e in m.edit_log()] == [None, 0, 50_000]
        for a, b in zip(m.arrays(), clean.arrays()):
            assert a.tobytes() == b.tobytes()
    assert verify(tmp_path / "m")["ok"]


def test_temporaries_left_by_killed_writers_are_reported_then_swept(tmp_path, blobs):
    x, y, _, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    ids = m.add(x, y)
    m.close()
    stale = tmp_path / "m" / ".index.faiss.k1ll3d.tmp"
    stale.write_bytes(np.ascontiguousarray(x[:5]).tobytes())  # a killed flush's copy
    report = verify(tmp_path / "m")
    assert not report["ok"] and ".index.faiss.k1ll3d.tmp" in report["problems"][0]
    with VisualMemory.open(tmp_path / "m") as m:
        assert m.swept == 1 and not stale.exists()
        assert m.remove(ids[:5]).passed
    assert residue(tmp_path / "m", x[:5]) == {}


def test_a_check_that_fails_fails_the_removal_until_repaired(tmp_path, blobs):
    x, y, _, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    ids = m.add(x, y)
    copy = tmp_path / "m" / "backup.bin"
    copy.write_bytes(b"\x01" * 7 + np.ascontiguousarray(x[:3]).tobytes())  # at an odd offset
    r = m.remove(ids[:3])
    assert not r.passed and "found in backup.bin: ids [0, 1, 2]" in r.checks["not_on_disk"]["detail"]
    assert not m.contains(ids[:3]).any()  # committed: the rows are gone, the bytes erased
    m.close()
    report = verify(tmp_path / "m")
    assert not report["ok"] and any("erasure incomplete" in p and "backup.bin" in p
                                    for p in report["problems"])
    copy.unlink()
    report = verify(tmp_path / "m", repair=True)
    assert report["ok"] and "finished the erasure of version 2: receipt passed" in report["repaired"][0]
    fixed = receipts.load(tmp_path / "m" / "receipts" / "remove-v00000002.json")
    assert fixed.passed and not fixed.interrupted and len(fixed.attempts) == 1


def test_a_kept_duplicate_of_a_removed_vector_is_refused_before_anything_changes(tmp_path, blobs):
    x, y, _, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    ids = m.add(np.concatenate([x[:5], x[:1]]), [0, 0, 0, 0, 0, 1])
    with pytest.raises(DuplicateVectorError, match=r"5 \(same as 0\).*nothing was removed"):
        m.remove(label=0)
    assert m.version == 1 and len(m) == 6
    m.close()
    with VisualMemory.open(tmp_path / "m") as m:  # the sha256 keys now come from SQLite
        with pytest.raises(DuplicateVectorError, match=r"5 \(same as 0\)"):
            m.remove(ids[:2])
        assert m.remove(ids[[0, 5]]).passed
        assert m.remove(ids[1:3]).passed  # their keys went with them


def test_residuals_live_in_a_slot_file_and_go_with_their_item(tmp_path, blobs):
    x, y, _, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    ids = m.add(x, y)
    logits = lambda v: v[:, :3] * 4.0  # noqa: E731
    ResMem(m, logits, k=1).fit()
    res = m.residuals(ids[:4])
    assert res.shape == (4, 3) and np.isfinite(res).all()
    assert not any(r[1] == "value" for r in m.connection.execute("PRAGMA table_info(residuals)"))
    r = m.remove(ids[:4])
    assert r.passed and "residuals.1.f32" in r.checks["not_on_disk"]["detail"]
    assert residue(tmp_path / "m", res) == {}
    ResMem(m, logits, k=1).fit()  # a new set replaces the file
    m.close()
    assert sorted(p.name for p in (tmp_path / "m").glob("residuals.*")) == ["residuals.2.f32"]


def test_one_writer_at_a_time_others_read(tmp_path, blobs):
    x, y, xq, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    m.add(x, y)
    other = VisualMemory.open(tmp_path / "m")
    assert m.writable and not other.writable
    assert np.array_equal(other.search(xq, 3)[1], m.search(xq, 3)[1])
    with pytest.raises(Exception, match="open read-only .*another process holds memory.lock"):
        other.add(x[:1], y[:1])
    other.close()
    m.close()
    with VisualMemory.open(tmp_path / "m") as again:
        assert again.writable
