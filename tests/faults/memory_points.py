"""SIGKILL of `procmem memory add` and `memory remove` at the named points of an edit
(memory.killpoints: just after the commit, during the index flush, ...), through the real
commands, on memories and selections drawn at random per trial.

tests/memory/test_erasure.py kills each point once on a fixed memory (in `make test`); this
draws the size (500-3,000), width (16/32/64), index kind, selector (ids file, label, label
name, source prefix, source glob) and added batch anew in each trial. A removal survives when
verify reports it unfinished before the next open, that open issues the owed receipt (passed,
for exactly the selected ids), no removed id is stored or found by search, no 64-byte piece
of a removed vector is left in any file of the directory, no temporary is left, and
`procmem memory verify` exits 0. An add survives when the open keeps every earlier item, and
the add is whole and byte-exact if it committed, or absent with its records zeroed (0
residue) if not.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from procmem.memory import index as index_mod
from procmem.memory import receipts
from procmem.memory.store import VisualMemory
from procmem.memory.vectors import normalise
from procmem.memory.verify import verify
from tests.faults.proctree import procmem
from tests.faults.report import Outcome, log
from tests.memory.test_erasure import every_file, residue

FINGERPRINT = "campaign-encoder"
CLASSES = 5
CACHED = [k for k, c in index_mod.INDEX_TABLE.items() if c.cached]
EXACT = [k for k, c in index_mod.INDEX_TABLE.items() if not c.cached]
# --only name: (row of the table, the command, its kill points in turn, index kinds in turn)
SCENARIOS = {
    "memory-add": ("memory add, SIGKILL after its records are written, after its commit, in its "
                   "IVF-PQ flush", "add", ("add:slots-written", "add:committed", "index:flush"),
                   ("flat", "numpy", "ivfpq")),
    "memory-remove": ("memory remove, SIGKILL after the zero-fill, before the receipt", "remove",
                      ("remove:slots-zeroed", "remove:checked"), ("flat", "numpy", "ivfpq")),
    "memory-flush": (f"memory remove, SIGKILL during the index flush ({', '.join(CACHED)}: the "
                     f"kinds with an index cache; {', '.join(EXACT)} keep none)", "remove",
                     ("index:flush",), tuple(CACHED)),
    "memory-commit": ("memory remove, SIGKILL just after the commit", "remove",
                      ("remove:committed",), ("flat", "numpy", "ivfpq")),
}


def make_memory(path: Path, rng: np.random.Generator, kind: str) -> dict:
    """A memory of random unit vectors in classes c0..c4 with sources /photos/c<label>/<id>.png."""
    n, dim = int(rng.integers(500, 3000)), int(rng.choice([16, 32, 64]))
    labels = rng.integers(0, CLASSES, n)
    sources = [f"/photos/c{lab}/{i}.png" for i, lab in enumerate(labels)]
    opts = dict(nlist=4, m=4, nbits=4) if kind == "ivfpq" else {}
    with VisualMemory.create(path, dim, FINGERPRINT, index=kind, **opts) as m:
        ids = m.add(rng.normal(size=(n, dim)), labels, sources=sources,
                    label_names={c: f"c{c}" for c in range(CLASSES)})
        stored = m.vectors(ids)
    return {"n": n, "dim": dim, "labels": labels, "sources": sources, "x": stored}


def selector(rng: np.random.Generator, mem: dict, work: Path) -> tuple[list[str], np.ndarray]:
    """A random selector as `memory remove` takes it, and the ids it must remove."""
    labels, c = mem["labels"], int(rng.integers(CLASSES))
    how = int(rng.integers(5))
    if how == 0:
        ids = np.sort(rng.choice(mem["n"], int(rng.integers(1, 0.6 * mem["n"])), replace=False))
        (work / "ids.txt").write_text("".join(f"{i}\n" for i in ids))
        return ["--ids", f"@{work / 'ids.txt'}"], ids
    doomed = np.flatnonzero(labels == c)
    return [["--label", str(c)], ["--label-name", f"c{c}"], ["--source-prefix", f"/photos/c{c}/"],
            ["--source-glob", f"*/c{c}/*.png"]][how - 1], doomed


def check_remove(path: Path, mem: dict, doomed: np.ndarray) -> list[str]:
    """What is wrong with a memory whose removal of `doomed` was killed (empty: nothing)."""
    bad = []
    if verify(path)["ok"]:
        bad.append("verify said OK before the next open finished the erasure")
    with VisualMemory.open(path) as m:
        owed = m.finished_on_open
        if len(owed) != 1:
            return bad + [f"{len(owed)} receipts issued on open, not the 1 owed"]
        r = owed[0]
        if not (r.passed and r.interrupted):
            bad.append(f"the owed receipt: passed {r.passed}, interrupted {r.interrupted}: {r.checks}")
        if r.removed_ids != doomed.tolist():
            bad.append(f"the receipt removed {len(r.removed_ids)} ids, the selector chose {len(doomed)}")
        if m.contains(doomed).any() or len(m) != mem["n"] - len(doomed):
            bad.append(f"removed ids back: {np.flatnonzero(m.contains(doomed))[:5].tolist()}")
        _, got = m.search(mem["x"][doomed[:20]], 5)
        if np.isin(got, doomed).any():
            bad.append("search returns removed ids")
        if m.pending_erasures:
            bad.append("an erasure is still pending after the open")
    left = residue(path, mem["x"][doomed])
    if left:
        bad.append(f"residue of removed vectors in {sorted(Path(p).name for p in left)}")
    if not receipts.load(r.path).passed:
        bad.append(f"the saved receipt {Path(r.path).name} does not pass")
    return bad


def check_add(path: Path, mem: dict, point: str, new: np.ndarray, paths: list[str]) -> list[str]:
    """What is wrong with a memory whose add of `new` (as stored) was killed at `point`."""
    bad, n, k = [], mem["n"], len(new)
    with VisualMemory.open(path) as m:
        if not m.contains(np.arange(n)).all():
            bad.append("items added before the kill are lost")
        added = m.contains(np.arange(n, n + k))
        if point == "add:slots-written":  # not committed: absent, its records zeroed on open
            if added.any() or len(m) != n:
                bad.append(f"an add killed before its commit left {int(added.sum())} items")
            if m.zeroed_on_open != new.nbytes:
                bad.append(f"the open zeroed {m.zeroed_on_open} bytes, not the add's {new.nbytes}")
        elif not added.all() or len(m) != n + k:
            bad.append(f"committed adds lost: {int((~added).sum())} of {k}")
        elif not np.array_equal(m.vectors(np.arange(n, n + k)), new) or \
                m.sources(np.arange(n, n + k)) != paths:
            bad.append("the committed add's vectors or sources differ from the file's")
    if point == "add:slots-written" and residue(path, new):
        bad.append("residue of the uncommitted add")
    return bad


def trial(work: Path, seed: int, command: str, point: str, kind: str) -> str | None:
    """One killed command on a fresh random memory; None when it survived."""
    rng = np.random.default_rng(seed)
    path = work / f"m{seed}"
    mem = make_memory(path, rng, kind)
    if command == "remove":
        argv, doomed = selector(rng, mem, work)
    else:
        k = int(rng.integers(20, 400))
        feats = rng.normal(size=(k, mem["dim"])).astype(np.float32)  # raw, as `embed` writes them
        paths = [f"/new/{i}.png" for i in range(k)]
        np.savez(work / "new.npz", features=feats, labels=rng.integers(0, CLASSES + 1, k),
                 paths=np.array(paths), fingerprint=np.asarray(FINGERPRINT),
                 label_names=np.array([f"c{c}" for c in range(CLASSES + 1)]))
        argv = ["--embeddings", str(work / "new.npz")]
    res = procmem(["memory", command, str(path), *argv], PROCMEM_KILL_AT=point)
    if res.returncode != -9:
        return f"exit {res.returncode} before reaching {point}: {res.stderr.strip()[-300:]}"
    bad = check_remove(path, mem, doomed) if command == "remove" else \
        check_add(path, mem, point, normalise(feats, mem["dim"]), paths)
    if any(p.name.endswith(".tmp") for p in every_file(path)):
        bad.append("temporaries left after the open")
    res = procmem(["memory", "verify", str(path)])
    if res.returncode != 0:
        bad.append(f"memory verify exit {res.returncode}: {res.stdout.strip()[-300:]}")
    return "; ".join(bad) or None


def run(trials: int, only: list[str] | None = None) -> list[Outcome]:
    """`trials` killed commands per scenario (keys of SCENARIOS in `only`, default all)."""
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for s, (key, (name, command, points, kinds)) in enumerate(SCENARIOS.items()):
            if only and key not in only:
                continue
            o, t0 = Outcome(name, key), time.perf_counter()
            for t in range(trials):
                point = points[t % len(points)]  # every point with every kind in turn
                kind = CACHED[0] if point == "index:flush" else \
                    kinds[t // len(points) % len(kinds)]
                work = Path(tmp) / f"{key}-{t}"
                work.mkdir()
                problem = trial(work, 1000 * s + t, command, point, kind)
                log(f"{key}: trial {t} ({point}, {kind}): {problem or 'survived'}")
                o.record(problem, f"trial {t} ({point}, {kind})")
            o.seconds = time.perf_counter() - t0
            outcomes.append(o)
    return outcomes
