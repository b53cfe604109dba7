"""Removal receipts whose checks really look, pruning counts, and kill -9 crash safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from procmem.memory import pruning, receipts
from procmem.memory.scan import find_pieces
from procmem.memory.store import VisualMemory
from procmem.memory.verify import verify
from tests.memory.conftest import unit

REPO = Path(__file__).resolve().parents[2]


def test_receipt_checks_pass_and_detect_vectors_left_on_disk(tmp_path, blobs):
    x, y, _, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    ids = m.add(x, y, sources=[f"cam{i % 3}/{i}.jpg" for i in range(len(x))])
    stale = tmp_path / "stale-vectors.f32"
    shutil.copy(tmp_path / "m" / "vectors.f32", stale)  # a copy still holding every vector
    r = m.remove(ids[:4])
    assert r.passed, r.checks
    assert set(r.checks) == {"not_searchable", "not_on_disk", "not_in_pruning_stats"}
    saved = json.loads(Path(r.path).read_text())
    assert saved["removed_ids"] == ids[:4].tolist() and saved["passed"]
    assert saved["version_before"] == 1 and saved["version_after"] == 2
    assert [it["source"] for it in saved["items"]] == [f"cam{i % 3}/{i}.jpg" for i in range(4)]
    assert saved["selector"] == {"ids": [0, 1, 2, 3]} and saved["dim"] == 16
    assert receipts.load(r.path).sha256 == r.sha256
    # The byte scanner finds vectors that are still in a file (here: the stale copy) ...
    found = find_pieces([stale, tmp_path / "m" / "vectors.f32"], x[:6])
    assert found == {str(stale): [0, 1, 2, 3, 4, 5],
                     str(tmp_path / "m" / "vectors.f32"): [4, 5]}  # 4, 5 were not removed
    # ... and the checks fail when a stale copy sits in the memory directory.
    shutil.copy(stale, tmp_path / "m" / "leftover.bin")
    check = receipts.run_all(m, ids[:4], x[:4])["not_on_disk"]
    assert not check["passed"] and "found in leftover.bin: ids [0, 1, 2, 3]" in check["detail"]
    (tmp_path / "m" / "leftover.bin").unlink()
    # Remove by source glob and by predicate.
    r2 = m.remove(source_glob="cam1/*")
    assert r2.passed and len(r2.removed_ids) > 0
    r3 = m.remove(where=lambda s: s.endswith("/5.jpg") or s.endswith("/8.jpg"))
    assert sorted(r3.removed_ids) == [5, 8] and r3.passed
    m.close()
    assert verify(tmp_path / "m")["ok"]


def test_receipt_detects_an_id_still_searchable(tmp_path, blobs):
    x, y, _, _ = blobs
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    ids = m.add(x, y)
    r = receipts.check_not_searchable(m, ids[:3])  # never removed: must fail
    assert not r["passed"] and "(3 held)" in r["detail"] and r["evidence"]["sqlite"]["items"] == [0, 1, 2]
    m.close()


def _constructed_memory(path):
    """Points on a circle: class 0 at angles 0, .1, .2; class 1 at 1.5, 1.6, 1.7; and one
    item labelled 1 at .04, inside class 0 (mislabelled). With k = 1, plurality voting:
    0.0 -> .04 (wrong: v[.04] += 1), .04 -> 0.0 (wrong: v[0.0] += 1), .1 -> .04 (wrong:
    v[.04] += 1), every other decision right. So v = 1 for 0.0, 2 for .04, 0 elsewhere."""
    angles = np.array([0.0, 0.1, 0.2, 1.5, 1.6, 1.7, 0.04])
    x = np.stack([np.cos(angles), np.sin(angles), np.full(7, 0.3)], axis=1)
    m = VisualMemory.create(path, 3, "e")
    m.add(unit(x), np.array([0, 0, 0, 1, 1, 1, 1]))
    return m


def test_pruning_counts_gammas_hard_prune_and_recompute(tmp_path):
    m = _constructed_memory(tmp_path / "m")
    stats = pruning.compute(m, k=1, rule="plurality")
    assert stats["wrong"].tolist() == [1, 0, 0, 0, 0, 0, 2]
    assert stats["version"] == m.version
    np.testing.assert_allclose(pruning.gamma(stats["wrong"]), [0.875, 1, 1, 1, 1, 1, 1.75 / 3])
    # Soft pruning scales each neighbour's vote by its gamma.
    dec = m.classify(m.vectors([6]), 2, "plurality", pruning="soft")
    np.testing.assert_allclose(sorted(dec.weights[0]), sorted([1.75 / 3, 0.875]))
    r = pruning.hard_prune(m, threshold=2)
    assert r.removed_ids == [6] and r.passed
    after = m.prune_stats()
    assert 6 not in after["ids"].tolist() and after["wrong"].tolist() == [0] * 6
    assert after["version"] == m.version
    m.close()


CHILD = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {repo!r})
    from procmem.memory.store import VisualMemory
    m = VisualMemory.open({path!r})
    rng = np.random.default_rng({seed})
    step = 0
    while True:
        step += 1
        ids = m.add(rng.normal(size=(5, 8)), rng.integers(0, 3, 5))
        print("added", *ids.tolist(), flush=True)
        if step % 3 == 0:
            print("removing", *ids[:2].tolist(), flush=True)
            m.remove(ids[:2])
            print("removed", *ids[:2].tolist(), flush=True)
        if step % 7 == 0:
            m.flush()
""")


def test_kill_9_mid_edits_loses_no_acknowledged_add_and_revives_no_removal(tmp_path):
    """Three rounds: a child adds, removes and flushes in a loop and is SIGKILLed at a
    random moment; every reopening must hold each acknowledged add and no acknowledged
    removal (a removal in flight at the kill may land either way)."""
    path = tmp_path / "m"
    VisualMemory.create(path, 8, "e").close()
    seen = {"added": set(), "removing": set(), "removed": set()}
    rng = np.random.default_rng(0)
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD.format(repo=str(REPO), path=str(path), seed=round_)],
            stdout=subprocess.PIPE, text=True)
        target = len(seen["added"]) + 60
        deadline = time.time() + 30
        try:
            while len(seen["added"]) < target and time.time() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                op, *ids = line.split()
                seen[op].update(int(i) for i in ids)
            time.sleep(rng.uniform(0, 0.02))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        for line in proc.stdout.read().splitlines():  # what it said before dying still counts
            op, *ids = line.split()
            if op in seen:  # a pipe write under 4 KiB is atomic: lines are whole
                seen[op].update(int(i) for i in ids)
        added, removing, removed = seen["added"], seen["removing"], seen["removed"]
        assert len(added) >= target and removed
        with VisualMemory.open(path) as m:
            have = set(m.ids.tolist())
            assert added - removing <= have
            assert not (removed & have)
            sure = sorted(added - removing)[-20:]
            _, i = m.search(m.vectors(sure), 1)
            assert np.array_equal(i[:, 0], sure)
        assert verify(path)["ok"]


@pytest.mark.parametrize("secure_delete", [0, 1])
def test_plain_sqlite_delete_leaves_bytes_that_the_scan_finds(tmp_path, secure_delete):
    """Why vectors left SQLite: without secure_delete a DELETE leaves every vector in the file
    (and with it, B-tree rebalancing still left most of one behind: issue 12, finding 1)."""
    import sqlite3

    x = np.random.default_rng(0).normal(size=(30, 16)).astype(np.float32)
    db = tmp_path / "t.sqlite"
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute(f"PRAGMA secure_delete={secure_delete}")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
    c.executemany("INSERT INTO t VALUES (?, ?)", [(i, x[i].tobytes()) for i in range(30)])
    c.execute("DELETE FROM t WHERE id < 5")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    found = find_pieces([db, Path(f"{db}-wal")], x[:7])
    assert found[str(db)] == ([0, 1, 2, 3, 4, 5, 6] if not secure_delete else [5, 6])
