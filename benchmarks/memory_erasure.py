"""Erasure at 1M items: "remove 1,000 of 1M" step by step, the residue scan, and the rewrite
the slot file replaces.

Run: .venv/bin/python benchmarks/memory_erasure.py [--n 1000000] [--dim 64] [--threads 1]

Builds an N x d memory (format 2: vectors in vectors.f32), removes 1,000 random items and prints
each step's seconds from the receipt (commit, zero-fill, caches and WAL, pruning counts, the
checks), then scans every file of the directory for the removed vectors' 64-byte pieces (0
expected), times opening (the flat index is built from the slot file) and a later `receipt
verify`. For comparison it times the other design issue 12 names, rewriting the database after
each removal (`VACUUM INTO` a temporary, then an atomic swap), on a format-1 database (vectors as
BLOBs) of the same size.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import format_table, machine_header  # noqa: E402
from benchmarks.memory import unit_random  # noqa: E402


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def vacuum_into(path: Path, x: np.ndarray) -> tuple[float, float, int]:
    """(seconds to write, seconds to VACUUM INTO + swap, bytes) for a format-1 style database."""
    import hashlib

    db = path / "format1.sqlite"
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, label INTEGER NOT NULL, source TEXT, "
              "sha256 TEXT NOT NULL, vector BLOB NOT NULL, version INTEGER NOT NULL)")
    t0 = time.perf_counter()
    c.execute("BEGIN")
    for s in range(0, len(x), 100_000):
        rows = [(s + i, (s + i) % 1000, f"/data/{s + i:07d}.png", hashlib.sha256(v.tobytes()).hexdigest(),
                 v.tobytes(), 1) for i, v in enumerate(x[s:s + 100_000])]
        c.executemany("INSERT INTO items VALUES (?,?,?,?,?,?)", rows)
    c.execute("COMMIT")
    c.execute("DELETE FROM items WHERE id < 1000")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    c.execute("VACUUM INTO ?", (str(path / "format1.tmp"),))
    os.replace(path / "format1.tmp", db)
    t_vacuum = time.perf_counter() - t0
    c.close()
    return t_write, t_vacuum, db.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="items (default 1,000,000)")
    ap.add_argument("--dim", type=int, default=64, help="vector width (default 64)")
    ap.add_argument("--remove", type=int, default=1000, help="items removed (default 1,000)")
    ap.add_argument("--threads", type=int, default=1, help="FAISS/BLAS threads (default 1)")
    args = ap.parse_args()
    import faiss
    from threadpoolctl import threadpool_limits

    from procmem.memory import receipts
    from procmem.memory.recheck import verify_receipt
    from procmem.memory.scan import find_pieces
    from procmem.memory.store import VisualMemory

    faiss.omp_set_num_threads(args.threads)
    threadpool_limits(args.threads)
    print(machine_header({"threads": args.threads, "uptime at start": uptime()}))
    tmp = Path(tempfile.mkdtemp(prefix="procmem-erasure-"))
    x = unit_random(args.n, args.dim, 0)
    t0 = time.perf_counter()
    mem = VisualMemory.create(tmp / "m", args.dim, "bench")
    for s in range(0, args.n, 100_000):
        mem.add(x[s:s + 100_000], np.arange(s, min(s + 100_000, args.n)) % 1000,
                sources=[f"/data/{i:07d}.png" for i in range(s, min(s + 100_000, args.n))])
    mem.close()
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    mem = VisualMemory.open(tmp / "m")
    t_open = time.perf_counter() - t0
    sizes = {p.name: p.stat().st_size for p in (tmp / "m").iterdir() if p.is_file()}
    doomed = np.sort(np.random.default_rng(1).choice(args.n, args.remove, replace=False))
    t0 = time.perf_counter()
    r = mem.remove(doomed)
    t_remove = time.perf_counter() - t0
    files = receipts.memory_files(tmp / "m")
    scanned = sum(p.stat().st_size for p in files)
    t0 = time.perf_counter()
    left = find_pieces(files, x[doomed])
    t_scan = time.perf_counter() - t0
    t0 = time.perf_counter()
    later = verify_receipt(receipts.load(r.path), mem)
    t_verify = time.perf_counter() - t0
    mem.close()
    print(f"\n### Remove {args.remove:,} of {args.n:,} x {args.dim} (random unit vectors; built in "
          f"{t_build:.1f} s; " + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in sorted(sizes.items())
                                          if v > 2**20) + ")\n")
    rows = [[f"remove {args.remove:,}: erasure and checks (wall)", t_remove]]
    rows += [[f"  {step}", sec] for step, sec in r.seconds.items()]
    rows += [[f"  check {name}", c["seconds"]] for name, c in r.checks.items()]
    rows += [["open (flat index built from vectors.f32)", t_open],
             [f"residue scan of every file ({scanned / 2**20:,.0f} MiB), 64-byte pieces", t_scan],
             ["receipt verify later (whole vectors by sha256, every byte offset)", t_verify]]
    print(format_table(["step", "seconds"], rows))
    print(f"\nreceipt passed: {r.passed}; residue after the removal: {left or 'none'}; "
          f"receipt holds later: {all(c['passed'] for c in later.values())}")
    t_write, t_vacuum, size = vacuum_into(tmp, x)
    print(f"\nthe alternative: a format-1 database of the same items ({size / 2**20:,.0f} MiB, written "
          f"in {t_write:.1f} s) rewritten by VACUUM INTO + swap after a removal: {t_vacuum:.2f} s")
    print(f"\nuptime at end: {uptime()}")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
