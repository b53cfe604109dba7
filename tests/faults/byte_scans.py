"""Byte scans after uninterrupted removals (issue 12, finding 1): memories of 2,000 to 100,000
random 64-d unit vectors, 1%, 10%, 50% and 90% of them removed by `procmem memory remove --ids
@FILE`, then every file of the directory (SQLite and its WAL/-shm, slot files, index caches,
receipts, temporaries) searched for every 64-byte piece of every removed vector.

tests/memory/test_erasure.py and tests/faults/test_campaign.py run the small cases in `make
test`. A case survives when the command exits 0 with every check PASS, no piece of a removed
vector is found, the kept vectors are found in vectors.f32 (so the scan is looking), and
`verify` is OK.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from procmem.memory.store import VisualMemory
from procmem.memory.verify import verify
from tests.faults.proctree import procmem
from tests.faults.report import Outcome, log
from tests.memory.test_erasure import every_file, residue

SIZES = (2_000, 10_000, 100_000)
FRACTIONS = (0.01, 0.10, 0.50, 0.90)
DIM = 64
IVFPQ = dict(nlist=32, m=8, nbits=8)


def scan(path: Path, n: int, fraction: float, kind: str = "flat", seed: int = 0) -> tuple[str | None, tuple]:
    """One removal of `fraction` of a fresh memory of `n` items at `path`, then the scan:
    (what went wrong or None, a row of DETAIL)."""
    rng = np.random.default_rng(seed + n)
    with VisualMemory.create(path, DIM, "campaign-encoder", index=kind,
                             **(IVFPQ if kind == "ivfpq" else {})) as m:
        ids = m.add(rng.normal(size=(n, DIM)), rng.integers(0, 10, n),
                    sources=[f"/data/{i}.png" for i in range(n)])
        x = m.vectors(ids)
    doomed = np.sort(rng.choice(n, round(fraction * n), replace=False))
    ids_file = path.parent / f"{path.name}.ids"
    ids_file.write_text("".join(f"{i}\n" for i in doomed))
    res = procmem(["memory", "remove", str(path), "--ids", f"@{ids_file}"])
    files = every_file(path)
    scanned = (f"{n:,} x {DIM}, {kind}", f"{len(doomed):,} ({fraction:.0%})", len(files),
               f"{sum(p.stat().st_size for p in files) / 2**20:.1f}")
    if res.returncode != 0 or "FAIL" in res.stdout or "PASS" not in res.stdout:
        return f"memory remove exit {res.returncode}: {(res.stdout + res.stderr).strip()[-300:]}", \
            (*scanned, "not scanned")
    bad = []
    left = residue(path, x[doomed])
    scanned += (len(set().union(*left.values())) if left else 0,)
    if left:
        bad.append(f"residue of {scanned[-1]} removed vectors in {sorted(Path(p).name for p in left)}")
    kept = np.setdiff1d(np.arange(n), doomed)[:50]
    if set(residue(path, x[kept])) != {str(path / "vectors.f32")}:
        bad.append("the scan did not find the kept vectors in vectors.f32 (and only there)")
    report = verify(path)
    if not report["ok"]:
        bad.append("verify: " + "; ".join(report["problems"]))
    return "; ".join(bad) or None, scanned


DETAIL = ("memory", "removed", "files", "MiB scanned", "removed vectors with a byte left")


def run(sizes=SIZES, fractions=FRACTIONS, ivfpq_sizes=(10_000,)) -> tuple[list[Outcome], list[tuple]]:
    """A row per memory size and index kind, a trial per removed fraction; and a row of
    DETAIL per trial."""
    outcomes, detail = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, ns in (("flat", sizes), ("ivfpq", [n for n in ivfpq_sizes if n in sizes])):
            for n in ns:
                share = "/".join(f"{f:.0%}" for f in fractions)
                o, t0 = Outcome(f"byte scan after removing {share} of {n:,} x {DIM}, {kind}",
                                f"scan-{n}-{kind}"), time.perf_counter()
                for f in fractions:
                    problem, scanned = scan(Path(tmp) / f"{kind}-{n}-{f}", n, f, kind)
                    log(f"scan {kind} {n} {f:.0%}: {problem or '0 residue'} {scanned}")
                    o.record(problem, f"{f:.0%}")
                    detail.append(scanned)
                o.seconds = time.perf_counter() - t0
                outcomes.append(o)
    return outcomes, detail
