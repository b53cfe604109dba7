"""Visual memory speed: build and exact search against raw FAISS, removal at 1M items,
IVF-PQ recall and speed.

Run: .venv/bin/python benchmarks/memory.py [--quick] [--search-only] [--threads N]

Baselines run in the same process, on the same data, with the same thread count: raw FAISS
IndexFlatIP (add, in RAM only; search, BLAS from 20 queries) and scikit-learn
NearestNeighbors(algorithm='brute', metric='cosine'). Goals (issue 16): a build of 200,000 x 384
at >= 100,000 items/s with every guarantee of the erasure work kept (records written and
fsynced before their rows commit, one SQLite transaction per add, sha256 per vector), exact
search >= 0.95x raw FAISS; earlier (issue "Visual memory"): search >= 3x sklearn, removing
1,000 ids from a 1M-item memory < 1 s. The load average (`os.getloadavg()`) is printed at the
start and the end: the machine is shared, figures measured under load > 1 say so. The removal
and IVF-PQ parts use 64-d vectors (1M x 384 would be 1.5 GB of vectors, plus as much in the
index: too much for this shared 2-core machine in a few minutes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import format_table, machine_header  # noqa: E402


def unit_random(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def clustered(n: int, d: int, clusters: int, seed: int) -> np.ndarray:
    """Unit vectors from a mixture of Gaussians (embeddings cluster; uniform noise does not)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d), dtype=np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def interleaved(fns: dict, rounds: int = 3) -> dict:
    """Best time of each function over `rounds` round-robin passes, so a load spike from the
    other users of the machine hits every method alike rather than one of them."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def build_memory(path, x, labels, index="flat", chunk=50_000, **opts):
    """What `procmem memory build` does: create, add in chunks of 50,000 (one transaction
    each), close."""
    from procmem.memory.store import VisualMemory

    mem = VisualMemory.create(path, x.shape[1], "bench", index=index, **opts)
    for s in range(0, len(x), chunk):
        mem.add(x[s:s + chunk], labels[s:s + chunk])
    seconds = dict(mem.add_seconds)
    mem.close()
    return seconds


def loaded(load: float) -> str:
    return f" (measured under load {load:.1f})" if load > 1 else ""


def goal(what: str, value: str, met: bool, load: float) -> str:
    return f"{what}: {value}: {'met' if met else 'NOT met'}{loaded(load)}"


def build_part(tmp: Path, x, labels, repeats: int) -> dict:
    """Build rate of VisualMemory and of the CLI against a RAM-only FAISS add, each step's
    share, and opening (the index built from vectors.f32) against reading the file + add."""
    import faiss

    from procmem.cli import main as cli
    from procmem.memory.store import VisualMemory

    n, d = x.shape
    best, steps = float("inf"), {}
    for r in range(repeats):
        path = tmp / f"build{r}"
        t0 = time.perf_counter()
        got = build_memory(path, x, labels)
        took = time.perf_counter() - t0
        if took < best:
            best, steps = took, got
        if r < repeats - 1:
            import shutil

            shutil.rmtree(path)
    raw = best_of(lambda: faiss.IndexFlatIP(d).add(x), repeats)
    npz = tmp / "features.npz"
    np.savez(npz, features=x, labels=labels, fingerprint=np.asarray("bench"))
    t0 = time.perf_counter()
    assert cli(["memory", "build", str(tmp / "cli"), "--embeddings", str(npz), "--quiet"]) == 0
    t_cli = time.perf_counter() - t0
    path = tmp / f"build{repeats - 1}"
    t_open = best_of(lambda: VisualMemory.open(path).close(), repeats)
    t_raw_open = best_of(lambda: faiss.IndexFlatIP(d).add(
        np.fromfile(path / "vectors.f32", "<f4").reshape(-1, d)), repeats)
    print(f"\n### Build, {n:,} x {d} (best of {repeats}; chunks of 50,000, one transaction each)\n")
    rows = [["VisualMemory create + add + close (records fsynced, then rows; sha256 each)", best,
             n / best, raw / best],
            *[[f"  of which {step}", sec, "", ""] for step, sec in steps.items()],
            ["`procmem memory build --embeddings NPZ` (reads the npz, digest for resuming)", t_cli,
             n / t_cli, raw / t_cli],
            ["raw FAISS IndexFlatIP.add (RAM only)", raw, n / raw, 1.0],
            ["VisualMemory.open (flat index built from vectors.f32)", t_open, n / t_open,
             t_raw_open / t_open],
            ["np.fromfile(vectors.f32) + IndexFlatIP.add", t_raw_open, n / t_raw_open, 1.0]]
    print(format_table(["what", "seconds", "items/s", "x raw FAISS"], rows))
    return {"rate": n / best, "cli_rate": n / t_cli, "path": path}


def search_part(path: Path, x, q, k: int, rounds: int) -> float:
    """VisualMemory.search against raw FAISS and sklearn on the same vectors, interleaved."""
    import faiss
    from sklearn.neighbors import NearestNeighbors

    from procmem.memory.index import faiss_blas
    from procmem.memory.store import VisualMemory

    n, d = x.shape
    mem = VisualMemory.open(path)
    raw = faiss.IndexFlatIP(d)
    raw.add(x)
    skl = NearestNeighbors(algorithm="brute", metric="cosine", n_neighbors=k).fit(x)

    def raw_blas():
        with faiss_blas():
            return raw.search(q, k)

    mem.search(q, k)  # warm-up
    t = interleaved({"mem": lambda: mem.search(q, k), "faiss": raw_blas,
                     "skl": lambda: skl.kneighbors(q, k)}, rounds=rounds)
    _, i_mem = mem.search(q, k)
    agree_faiss = float(np.mean(i_mem == raw_blas()[1]))
    agree_skl = float(np.mean(i_mem == skl.kneighbors(q, k)[1]))
    mem.close()
    rows = [[name, len(q) / sec, t["skl"] / sec, t["faiss"] / sec] for name, sec in [
        ("VisualMemory.search (flat index)", t["mem"]),
        ("raw FAISS IndexFlatIP, BLAS threshold 20", t["faiss"]),
        ("sklearn NearestNeighbors brute cosine", t["skl"])]]
    print(f"\n### Exact search, {n:,} x {d} random unit vectors, {len(q)} queries, k={k} (best of "
          f"{rounds} interleaved rounds; ids agree with raw FAISS {agree_faiss:.4f}, with sklearn "
          f"{agree_skl:.4f})\n")
    print(format_table(["method", "queries/s", "x sklearn", "x raw FAISS (BLAS)"], rows))
    return t["faiss"] / t["mem"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    ap.add_argument("--search-only", action="store_true",
                    help="only the build and exact-search tables (skip the 1M-item parts)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for FAISS and BLAS alike (default 1: the machine is shared)")
    args = ap.parse_args()
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(args.threads)
    threadpool_limits(args.threads)
    n_search, d_search = (50_000, 384) if args.quick else (200_000, 384)
    n_big, d_big = (200_000, 64) if args.quick else (1_000_000, 64)
    n_q, k = (200 if args.quick else 1000), 10
    start = os.getloadavg()
    print(machine_header({"threads": args.threads, "load average at start (1, 5, 15 min)":
                          ", ".join(f"{v:.2f}" for v in start),
                          "mode": "quick" if args.quick else "full"}))
    tmp = Path(tempfile.mkdtemp(prefix="procmem-bench-"))

    # 1. build and exact search, N x 384 random unit vectors
    x = unit_random(n_search, d_search, 0)
    q = unit_random(n_q, d_search, 1)
    labels = np.random.default_rng(2).integers(0, 1000, n_search)
    built = build_part(tmp, x, labels, repeats=3 if args.quick else 2)
    ratio = search_part(built["path"], x, q, k, rounds=3 if args.quick else 5)
    import shutil

    for p in tmp.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    x = None  # free it before the next part (del confuses the linter)
    load = max(start[0], os.getloadavg()[0])
    print()
    print(goal(f"build of {n_search:,} x {d_search}", f"{built['rate']:,.0f} items/s (CLI "
               f"{built['cli_rate']:,.0f}; goal >= 100,000; before the redesign 11,000)",
               built["rate"] >= 100_000, load))
    print(goal("exact search", f"{ratio:.3f}x raw FAISS (goal >= 0.95x; before 0.89x)",
               ratio >= 0.95, load))
    if not args.search_only:
        removal_and_ivfpq(tmp, n_big, d_big, n_q, k, args.quick)
    end = os.getloadavg()
    under = "" if max(start[0], end[0]) <= 1 else ": figures measured under load"
    print(f"\nload average at end (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in end)} (other "
          f"engineers share the 2 cores){under}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def removal_and_ivfpq(tmp: Path, n_big: int, d_big: int, n_q: int, k: int, quick: bool) -> None:
    """Remove 1,000 ids from a 1M-item memory (no rebuild) with the receipt's checks; then
    IVF-PQ recall@k against exact search and its speed on the same set."""
    import faiss

    from procmem.memory.index import IVFPQIndex, faiss_blas
    from procmem.memory.rerank import rerank
    from procmem.memory.store import VisualMemory

    xb = clustered(n_big, d_big, 1000, 3)
    lb = np.random.default_rng(4).integers(0, 1000, n_big)
    t0 = time.perf_counter()
    build_memory(tmp / "big", xb, lb)
    big = VisualMemory.open(tmp / "big")
    t_big_build = time.perf_counter() - t0
    doomed = np.random.default_rng(5).choice(big.ids, 2000, replace=False)
    t0 = time.perf_counter()
    receipt = big.remove(doomed[:1000])  # erasure and its checks (benchmarks/memory_erasure.py)
    t_remove = time.perf_counter() - t0
    t0 = time.perf_counter()
    r2 = big.remove(doomed[1000:])
    t_remove2 = time.perf_counter() - t0
    db_size = (tmp / "big" / "memory.sqlite").stat().st_size
    print(f"\n### Removal from a {n_big:,} x {d_big} memory (clustered unit vectors; built and "
          f"opened in {t_big_build:.1f} s; memory.sqlite {db_size / 2**20:,.0f} MiB)\n")
    print(format_table(["operation", "seconds"], [
        ["remove 1,000 ids: erasure (commit, zero-fill, caches, WAL) and receipt checks", t_remove],
        *[[f"  of which {step}", sec] for step, sec in receipt.seconds.items()],
        ["  the rest: selection, sha256 prefixes of 1M items read once per open, receipt", t_remove
         - sum(receipt.seconds.values())],
        ["remove 1,000 more ids from the same open memory", t_remove2]]))
    print(f"\nreceipt checks passed: {receipt.passed and r2.passed}; "
          f"first removal's version {receipt.version_before}->{receipt.version_after}")

    qb = clustered(n_big + n_q, d_big, 1000, 3)[n_big:]
    kept = np.sort(big.ids)  # the 2,000 removed items are not in the store any more
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(d_big))
    flat.add_with_ids(xb[kept], kept)
    with faiss_blas():
        t_flat = best_of(lambda: flat.search(qb, k), 2)
        _, truth = flat.search(qb, k)
    nlist = 1024 if not quick else 256
    m = 32  # 2 dims per sub-quantizer (m=16 caps recall@10 near 0.36 on this data)
    ivf = IVFPQIndex(d_big, nlist=nlist, m=m, nbits=8)
    t0 = time.perf_counter()
    ivf.train(xb[np.random.default_rng(6).choice(n_big, min(n_big, 100 * nlist), replace=False)])
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    ivf.add(kept, xb[kept])
    t_add = time.perf_counter() - t0
    rows = []
    for nprobe, refine in ((1, 0), (4, 0), (16, 0), (4, 4), (16, 4)):
        ivf.nprobe = nprobe

        def run():
            if not refine:
                return ivf.search(qb, k)
            _, cand = ivf.search(qb, k * refine)  # exact vectors come from the store's slot file
            return rerank(qb, cand, k, lambda ids: big.vectors(ids))

        t = best_of(run, 2)
        _, got = run()
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(got, truth)])
        rows.append([f"IVF-PQ nlist={nlist} m={m} nprobe={nprobe}"
                     + (f", re-rank {refine}k from the slot file" if refine else ""),
                     recall, n_q / t, t_flat / t])
    rows.append(["exact (FAISS flat)", 1.0, n_q / t_flat, 1.0])
    print(f"\n### IVF-PQ at {n_big:,} x {d_big} (clustered), {n_q} queries, recall@{k} against "
          f"exact; train {t_train:.1f} s, add {t_add:.1f} s\n")
    print(format_table(["index", f"recall@{k}", "queries/s", "x exact speed"], rows))
    big.close()


if __name__ == "__main__":
    raise SystemExit(main())
