"""SIGKILL trials of memory adds and removals at random moments (issue 12's fault campaign,
memory part; not collected by pytest: `make test` runs the deterministic kill points of
tests/memory/test_erasure.py).

Run: .venv/bin/python -m tests.memory.kill_campaign [--trials 20] [--items 2000]

Each trial starts a child that adds and removes in a loop, printing what it was told is
done, and kills it with SIGKILL after a random delay. Then the memory is opened (which
finishes an interrupted erasure) and checked: no acknowledged add lost, no acknowledged
removal back, no 64-byte piece of any removed vector in any file of the directory, every
removal in the edit log has a receipt that passed, `verify` is OK. Prints scenario | trials |
survived | failed and what failed (tests.faults.report); `make faults` runs it with the other
campaigns (tests.faults.campaign).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.faults.report import Outcome, log, print_report

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import sys, numpy as np
from procmem.memory.store import VisualMemory
from procmem.memory.vectors import normalise
m = VisualMemory.open(sys.argv[1])
rng = np.random.default_rng(int(sys.argv[2]) + 10**6)  # not the first 2000 vectors
while True:
    x = normalise(rng.normal(size=(200, 32)), 32)
    ids = m.add(x, rng.integers(0, 5, 200))
    np.save(sys.argv[3] + f"/{int(ids[0])}.npy", x)
    print("added", int(ids[0]), int(ids[-1]), flush=True)
    doomed = rng.choice(m.ids, 150, replace=False)
    print("removing", *doomed.tolist(), flush=True)
    m.remove(doomed)
    print("removed", *doomed.tolist(), flush=True)
"""


def trial(root: Path, seed: int, kind: str) -> tuple[list[str], dict]:
    """One kill; (what failed (empty: survived), what the child had done)."""
    from procmem.memory import receipts
    from procmem.memory.scan import find_pieces
    from procmem.memory.store import VisualMemory
    from procmem.memory.verify import verify

    path, saved = root / f"m{seed}", root / f"x{seed}"
    saved.mkdir()
    opts = dict(nlist=4, m=4, nbits=4) if kind == "ivfpq" else {}
    with VisualMemory.create(path, 32, "e", index=kind, **opts) as m:
        x0 = np.random.default_rng(seed).normal(size=(2000, 32))
        np.save(saved / "0.npy", m.vectors(m.add(x0, np.zeros(2000, int))))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(seed), str(saved)],
                            stdout=subprocess.PIPE, text=True, env=env)
    time.sleep(np.random.default_rng(seed).uniform(1.0, 4.0))
    os.kill(proc.pid, signal.SIGKILL)
    out = proc.communicate()[0].splitlines()
    added, removing, removed = set(range(2000)), set(), set()
    for line in out:
        op, *nums = line.split()
        if op == "added":
            added |= set(range(int(nums[0]), int(nums[1]) + 1))
        elif op == "removing":
            removing = {int(i) for i in nums}
        elif op == "removed":
            removed |= {int(i) for i in nums}
    failed = []
    done = {"edits": sum(line.startswith(("added", "removed")) for line in out),
            "mid_removal": bool(out) and out[-1].startswith("removing")}
    with VisualMemory.open(path) as m:
        done["receipts_owed"] = len(m.finished_on_open)
        have = set(m.ids.tolist())
        if (added - removed - removing) - have:
            failed.append(f"acknowledged adds lost: {sorted((added - removed - removing) - have)[:5]}")
        if removed & have:
            failed.append(f"removed ids back: {sorted(removed & have)[:5]}")
        gone = sorted((added | set(m.ids.tolist())) - have)
    vectors = {}
    for f in saved.glob("*.npy"):
        x = np.load(f)
        vectors.update(zip(range(int(f.stem), int(f.stem) + len(x)), x))
    gone_vecs = np.array([vectors[i] for i in gone if i in vectors], np.float32).reshape(-1, 32)
    left = find_pieces(sorted(p for p in path.rglob("*") if p.is_file()), gone_vecs)
    if left:
        failed.append(f"residue of removed vectors in {sorted(Path(p).name for p in left)}")
    with VisualMemory.open(path, read_only=True) as m:
        for e in m.edit_log():
            if e["op"] == "remove":
                p = receipts.receipt_path(path, e["version"])
                if not p.is_file() or not receipts.load(p).passed:
                    failed.append(f"removal at version {e['version']} has no passing receipt")
    report = verify(path)
    if not report["ok"]:
        failed.append("verify: " + "; ".join(report["problems"]))
    return failed, done


def run(trials: int, kinds=("flat", "ivfpq")) -> list[Outcome]:
    """`trials` kills of the add/remove loop on a memory of each index kind."""
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            failures, edits, mid, owed, t0 = [], 0, 0, 0, time.perf_counter()
            for seed in range(trials):
                got, done = trial(Path(tmp), seed + (1000 if kind == "ivfpq" else 0), kind)
                edits, mid, owed = edits + done["edits"], mid + done["mid_removal"], \
                    owed + done["receipts_owed"]
                log(f"memory loop, {kind}, trial {seed}: {'; '.join(got) or 'survived'}")
                failures.append("; ".join(got) or None)
            o = Outcome(f"memory add/remove loop, {kind}, SIGKILL at a random moment ({edits} "
                        f"edits acknowledged; {mid} kills mid-removal, {owed} owed receipts "
                        f"issued on open)", f"memory-loop-{kind}", seconds=time.perf_counter() - t0)
            for seed, problem in enumerate(failures):
                o.record(problem, f"trial {seed}")
            outcomes.append(o)
    return outcomes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args()
    return print_report("memory kill campaign", run(args.trials))


if __name__ == "__main__":
    raise SystemExit(main())
