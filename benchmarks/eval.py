"""Evaluation speed: the exact privacy audit against brute-force leave-one-out, and unlearning.

Run: .venv/bin/python benchmarks/eval.py [--memory-sizes 250 500 1000 2000] [--queries 200] [-k 10]

Data: CIFAR-10 test images from the shared data folder as raw-pixel embeddings (32x32x3),
or sklearn digits when the shared folder is absent. Both audits run in this process on the
same features, and their outputs are checked equal before the ratio is reported. The exact
audit's time is the best of three runs; brute force runs once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks.machine import format_table, machine_header  # noqa: E402
from procmem.cli.options import add_option  # noqa: E402


def features(n_total: int, seed: int = 0):
    """(unit features, labels, source name) of n_total real images, embedded as raw pixels."""
    from procmem.core.paths import shared_data_dir
    from procmem.encoder.pixels import PixelEncoder
    from procmem.eval.catalogue import load_classification

    if shared_data_dir() is not None:
        mem, qry = load_classification("cifar10", limit_per_class=n_total // 10 + 1, seed=seed)
        enc = PixelEncoder(32, 4)
        name = "CIFAR-10 test, raw pixels 32x32"
    else:
        from procmem.eval.datasets import LabelledImages, sklearn_digits

        x, y = sklearn_digits()
        mem = LabelledImages("digits", x, y, [str(i) for i in range(10)])
        qry = mem
        enc = PixelEncoder(8, 2)
        name = "sklearn digits, raw pixels 8x8"
    f = np.concatenate([enc.embed(mem.images), enc.embed(qry.images)])
    y = np.concatenate([mem.labels, qry.labels])
    perm = np.random.default_rng(seed).permutation(len(y))
    return f[perm], y[perm], name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    add_option(ap, "--memory-sizes", old=("--sizes",), type=int, nargs="+",
               default=[250, 500, 1000, 2000], help="memory sizes N to audit")
    ap.add_argument("--queries", type=int, default=200)
    add_option(ap, "-k", old=("--k",), type=int, default=10, help="neighbours")
    ap.add_argument("--rule", default="plurality")
    args = ap.parse_args()

    from procmem.eval.privacy import sensitive_items, sensitive_items_brute_force
    from procmem.eval.unlearning import unlearning_audit

    feats, labels, source = features(max(args.memory_sizes) + args.queries)
    q, ql = feats[:args.queries], labels[:args.queries]
    load = os.getloadavg()[0]
    print(machine_header({"data": source, "queries": args.queries, "k": args.k,
                          "rule": args.rule, "load average (1 min) at start": f"{load:.1f}"}))
    rows = []
    for n in args.memory_sizes:
        m, ml = feats[args.queries:args.queries + n], labels[args.queries:args.queries + n]
        t_fast = float("inf")
        for _ in range(3):  # best of three: the exact audit is short, so load spikes dominate
            t = time.perf_counter()
            fast = sensitive_items(m, ml, q, args.k, args.rule, 10)
            t_fast = min(t_fast, time.perf_counter() - t)
        t = time.perf_counter()
        slow = sensitive_items_brute_force(m, ml, q, args.k, args.rule, 10)
        t_slow = time.perf_counter() - t
        same = np.array_equal(fast["sensitive"], slow)
        rows.append([n, f"{t_fast * 1e3:.1f}", f"{t_slow * 1e3:.0f}", f"{t_slow / t_fast:.0f}x",
                     len(slow), "yes" if same else "NO"])
        if not same:
            print(f"MISMATCH at N={n}", file=sys.stderr)
    print("\n### Exact privacy audit vs brute-force leave-one-out\n")
    print(format_table(["memory N", "exact (ms)", "brute force (ms)", "speed-up",
                        "sensitive items", "identical"], rows))

    n = max(args.memory_sizes)
    m, ml = feats[args.queries:args.queries + n], labels[args.queries:args.queries + n]
    urows = []
    for frac in (0.01, 0.1):
        r = unlearning_audit(m, ml, q, ql, "bench", fraction=frac)
        e = r["efficiency"]
        urows.append([n, r["forgotten"], f"{e['remove_s'] * 1e3:.0f}",
                      f"{e['receipt_checks_s'] * 1e3:.0f}", f"{e['rebuild_s'] * 1e3:.0f}",
                      f"{e['speedup']:.1f}x", "pass" if r["forget_quality"]["passed"] else "FAIL"])
    print("\n### Unlearning: VisualMemory.remove (with receipt checks) vs rebuilding\n")
    print(format_table(["memory N", "forgotten", "remove (ms)", "of which checks (ms)", "rebuild (ms)",
                        "rebuild / remove", "forget quality"], urows))
    print(f"\nload average (1 min) at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
