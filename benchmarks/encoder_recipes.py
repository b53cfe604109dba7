"""Issue 17's encoder recipes as one table and one picture, from `procmem eval knn` run dirs.

    python benchmarks/encoder_recipes.py --out docs/img/encoder-recipes-knn.png \
        LABEL=EVAL_DIR [LABEL=EVAL_DIR ...]

Each EVAL_DIR holds one `eval knn` run of a trained export (T), its random init (R,
`random:EXPORT:SEED`) and raw pixels (P) on the same queries. Printed: dino's softmax vote at
k=20, each cell with n and its Wilson 95% interval, then T-R and T-P paired on the same queries
(the run's own bootstrap interval and verdict). Pictured: T, R and P per recipe and set, with
their intervals.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from procmem.eval.comparisons import fmt_cell, fmt_diff
from procmem.eval.knn_summary import paired_summary


def table(runs: dict[str, dict]) -> str:
    rows = ["| recipe | set | T (trained) | R (random init) | P (pixels) | T-R | T-P |",
            "|---|---|---|---|---|---|---|"]
    for label, sets in runs.items():
        for name, c in sets.items():
            rows.append(f"| {label} | {name} | {fmt_cell(c['T'])} | {fmt_cell(c['R'])} | "
                        f"{fmt_cell(c['P'])} | {fmt_diff(c['T-R'])} | {fmt_diff(c['T-P'])} |")
    return "\n".join(rows)


def picture(runs: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sets = sorted({s for r in runs.values() for s in r})
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 0.55 * len(runs) + 2.2),
                             squeeze=False)
    colours = {"T": "#1f77b4", "R": "#aaaaaa", "P": "#d62728"}
    names = {"T": "trained", "R": "random init", "P": "raw pixels"}
    for ax, s in zip(axes[0], sets):
        labels = [lb for lb, r in runs.items() if s in r]
        y = np.arange(len(labels))
        for j, role in enumerate("TRP"):
            cells = [runs[lb][s][role] for lb in labels]
            v = np.array([100 * c["value"] for c in cells])
            err = np.array([[100 * (c["value"] - c["low"]) for c in cells],
                            [100 * (c["high"] - c["value"]) for c in cells]])
            ax.barh(y + (j - 1) * 0.27, v, 0.26, xerr=err, color=colours[role], label=names[role],
                    capsize=2)
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        n = runs[labels[0]][s]["T"]["n"]
        ax.set_xlabel("kNN top-1 %")
        ax.set_title(f"{s} (n={n} queries)")
        lo = min(100 * runs[lb][s][r]["low"] for lb in labels for r in "TRP")
        ax.set_xlim(max(0, lo - 5), None)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9)
    fig.suptitle("kNN (k=20, softmax vote) with 95% Wilson intervals", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", metavar="LABEL=EVAL_DIR")
    ap.add_argument("--out", type=Path, default=None, help="picture to write (png)")
    args = ap.parse_args(argv)
    runs = {}
    for item in args.runs:
        label, sep, where = item.partition("=")
        if not sep:
            ap.error(f"{item!r}: give LABEL=EVAL_DIR")
        runs[label] = paired_summary(Path(where))
    print(table(runs))
    if args.out:
        picture(runs, args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
