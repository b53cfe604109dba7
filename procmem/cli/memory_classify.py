"""`procmem memory classify`: kNN decisions on queries, with the neighbours behind each one.

Queries are photos without labels (`--model SPEC --images PATH...`: files, folders, patterns),
an ImageFolder (`--data`) or an embeddings npz. Every run writes into `--out` (default
`MEMORY.predictions/` beside the memory) `predictions.csv` (memory.predictions: path, class,
confidence, top-5 classes and scores, the neighbours' ids, classes, similarities and sources)
and `neighbours.png`, each query beside its neighbours with their class names (pages of 25,
the first `--pictures` queries). Only labelled queries get accuracy: top-1/top-5, a k sweep
and the calibration table, also saved as `decisions.json`. Part of `procmem.cli.memory`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from procmem.cli.memory_vectors import add_vector_source, load_queries
from procmem.cli.options import deprecation

RULE_HELP = ("voting rule (Geirhos et al. 2024): rank = 1/(alpha + rank), the paper's "
             "RankVoting, stable as k grows (default); softmax = exp(sim/tau), DINO's kNN "
             "(Caron et al. 2021); distance = exp(-||q - x||); plurality = one vote each")
PAGE = 25  # queries per picture


def add_voting(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=10,
                   help="neighbours per decision (default 10; rank voting is robust to a large k)")
    p.add_argument("--rule", default="rank", choices=["rank", "softmax", "distance", "plurality"],
                   help=RULE_HELP)
    p.add_argument("--tau", type=float, default=0.07,
                   help="softmax temperature (default 0.07, Wu et al. 2018 / DINO)")
    p.add_argument("--alpha", type=float, default=2.0,
                   help="rank-voting offset alpha (default 2, Geirhos et al.)")
    p.add_argument("--pruning", choices=["none", "soft"], default="none",
                   help="soft: scale each neighbour's vote by gamma = 1.75/(1+v) from the stored "
                        "pruning counts v (Geirhos App. G; run `memory prune` first)")


def register(msub) -> None:
    """Add `memory classify` to `procmem memory`."""
    c = msub.add_parser("classify", help="kNN decisions on your photos (or embeddings), with "
                                         "the neighbours behind each",
                        description=__doc__.split("\n\n")[0].replace("\n", " "))
    c.add_argument("memory")
    add_vector_source(c, images=True)
    add_voting(c)
    c.add_argument("--out", metavar="DIR",
                   help="folder for predictions.csv, neighbours.png and, for labelled queries, "
                        "decisions.json (default: MEMORY.predictions beside the memory)")
    c.add_argument("--pictures", type=int, default=100,
                   help="queries drawn beside their neighbours, in pages of 25 (default 100; "
                        "0: no picture); predictions.csv has every query")
    c.add_argument("--limit", type=int, default=10, help="decisions to print (default 10)")
    c.add_argument("--explain", type=int, default=0, help="print the neighbours of N decisions")
    c.add_argument("--sweep", default="1,5,10,20,50,100",
                   help="labelled queries: k values of the accuracy sweep (one search at the "
                        "largest)")
    c.add_argument("--plot", metavar="PNG", help="labelled queries: accuracy against k, as a PNG")
    c.set_defaults(func=cmd_classify)


def cmd_classify(args) -> int:
    from procmem.memory import decisions
    from procmem.memory.embeddings import to_memory_labels
    from procmem.memory.errors import MemoryStoreError
    from procmem.memory.predictions import prediction_rows
    from procmem.memory.store import VisualMemory

    try:
        ks = sorted({int(t) for t in args.sweep.split(",") if t.strip()} | {args.k})
    except ValueError:
        raise MemoryStoreError(f"--sweep takes comma-separated integers, got {args.sweep!r}")
    out, legacy = _out_dir(args)
    with VisualMemory.open(args.memory) as mem:
        emb = load_queries(args, mem)
        if not emb.labelled:
            ks = [args.k]
        kmax = max(1, min(max(ks), len(mem)))
        ks, k = [k for k in ks if k <= kmax] or [kmax], min(args.k, kmax)
        sims, ids = mem.search(emb.features, kmax, fingerprint=emb.fingerprint)
        dec = decisions.decide(mem, sims[:, :k], ids[:, :k], args.rule, tau=args.tau,
                               alpha=args.alpha, pruning=args.pruning)
        names = mem.label_names
        y = to_memory_labels(emb, names, new_classes=False)[0] if emb.labelled else None
        paths = emb.paths or [f"query {i}" for i in range(len(emb.features))]
        rows = prediction_rows(mem, dec, paths, y)
        report = _scores(mem, dec, sims, ids, y, ks, k, args) if emb.labelled else None
        explained = [dec.explain(q, names) for q in range(min(args.explain, len(rows)))]
        about = f"memory {mem.path} v{mem.version} ({len(mem)} items, {len(names)} classes)"
        where = f"{mem.path.name} v{mem.version}"
    print(f"{len(rows)} queries ({'labelled' if emb.labelled else 'photos without labels'}), "
          f"{about}, k={k}, rule={args.rule}, pruning={args.pruning}")
    if report is not None:
        _print_scores(report, ks, kmax, k)
    else:
        for row in rows[:args.limit]:
            others = ", ".join(f"{c} {s:.2f}" for c, s in zip(row["top5_classes"][1:],
                                                               row["top5_scores"][1:]))
            print(f"  {row['path']}: {row['class'] or '-'} {row['confidence']:.2f}"
                  + (f" (then {others})" if others else ""))
        if len(rows) > args.limit:
            print(f"  ... {len(rows) - args.limit} more in predictions.csv")
    for q, e in enumerate(explained):
        print(f"query {q} ({paths[q]}): predicted {e['prediction_name'] or e['prediction']}")
        for nb in e["neighbours"]:
            print(f"  id {nb['id']} {nb['label_name'] or nb['label']} sim {nb['similarity']:+.4f} "
                  f"weight {nb['weight']:.4g}")
    _write(out, legacy, rows, report, explained, emb, y, names, dec, args, where)
    return 0


def _out_dir(args) -> tuple[Path, Path | None]:
    """The output folder, and the JSON file an old-style `--out FILE.json` names."""
    if args.out and args.out.endswith(".json"):
        print(deprecation("--out FILE.json", "--out DIR (decisions.json goes inside)"),
              file=sys.stderr)
        return Path(args.out).with_suffix(""), Path(args.out)
    return (Path(args.out) if args.out else
            Path(f"{Path(args.memory).resolve()}.predictions")), None


def _scores(mem, dec, sims, ids, y, ks, k, args) -> dict:
    """Accuracy, the k sweep under every rule and the calibration table (labelled queries)."""
    from procmem.memory import decisions
    from procmem.memory.predictions import class_name
    from procmem.memory.pruning import gamma
    from procmem.memory.voting import RULES

    nn_labels = mem.labels_of(ids)
    w = gamma(mem.wrong_counts(ids)) if args.pruning == "soft" else None
    names = mem.label_names
    return {"memory": str(mem.path), "version": mem.version, "k": k, "rule": args.rule,
            "pruning": args.pruning, "queries": int(len(y)),
            "accuracy": decisions.accuracy(dec.scores, y),
            "sweep": {r: decisions.k_sweep(nn_labels, sims, y, ks, r, mem.num_classes,
                                           tau=args.tau, alpha=args.alpha, weights=w)
                      for r in RULES},
            "calibration": decisions.calibration_table(nn_labels[:, :k], y, mem.num_classes),
            "predictions": [class_name(names, int(p)) for p in dec.pred],
            "prediction_labels": dec.pred.tolist()}


def _print_scores(report: dict, ks: list[int], kmax: int, k: int) -> None:
    from procmem.memory.voting import RULES

    acc = report["accuracy"]
    print(f"top-1 {acc[1]:.4f}, top-5 {acc[5]:.4f}")
    print("accuracy (top-1) against k, one search at k=%d:" % kmax)
    print("k      " + "  ".join(f"{r:>9}" for r in RULES))
    for kk in ks:
        print(f"{kk:<6} " + "  ".join(f"{report['sweep'][r][kk][1]:9.4f}" for r in RULES))
    print(f"calibration (plurality among k={k}): agree, share of queries, accuracy")
    for row in report["calibration"]:
        if row["queries"]:
            print(f"  {row['agree']:>3}/{k}  {row['fraction']:.3f}  {row['accuracy']:.4f}")


def _write(out: Path, legacy, rows, report, explained, emb, y, names, dec, args, where) -> None:
    """predictions.csv, the pictures and (labelled) decisions.json into `out`."""
    from procmem.core.atomic import atomic_write_json
    from procmem.memory.predictions import write_csv

    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "predictions.csv", rows, emb.labelled)
    print(f"predictions: {out / 'predictions.csv'} ({len(rows)} rows: class, confidence, top-5, "
          f"neighbours)")
    if report is not None:
        report["explained"] = explained
        doc = json.loads(json.dumps(report, default=float))
        for path in filter(None, (out / "decisions.json", legacy)):
            atomic_write_json(path, doc)
            print(f"wrote {path}")
        if args.plot:
            from procmem.eval.plots import accuracy_vs_k

            accuracy_vs_k(args.plot, report["sweep"], f"{report['queries']} queries, memory "
                                                      f"v{report['version']}")
            print(f"wrote {args.plot}")
    if args.pictures > 0 and rows:
        _pictures(out, rows, emb.paths, y, names, dec, args.pictures, where)


def _pictures(out: Path, rows, paths, y, names, dec, most: int, where: str) -> None:
    """Each query beside its neighbours, with class names (borders: right or wrong, when the
    queries' labels `y` are known): pages of PAGE queries."""
    from procmem.eval.plots import neighbour_grid

    for old in [*out.glob("neighbours.png"), *out.glob("neighbours-[0-9][0-9].png")]:
        old.unlink()  # a page of an earlier run
    shown = min(len(rows), most)
    pages = math.ceil(shown / PAGE)
    for page in range(pages):
        part = range(page * PAGE, min(shown, (page + 1) * PAGE))
        caps = [f"{_short(rows[q]['path'])}\n"
                + (f"true: {rows[q]['true_class'] or '-'}\n" if y is not None else "")
                + f"pred: {rows[q]['class'] or '-'} {rows[q]['confidence']:.2f}" for q in part]
        path = out / ("neighbours.png" if pages == 1 else f"neighbours-{page + 1:02d}.png")
        neighbour_grid(path, [paths[q] if paths else None for q in part],
                       None if y is None else y[list(part)],
                       [[s or None for s in rows[q]["neighbour_sources"]] for q in part],
                       [dec.labels[q][dec.ids[q] >= 0] for q in part], names,
                       predictions=dec.pred[list(part)], sims=[rows[q]["neighbour_similarities"]
                                                               for q in part],
                       query_captions=caps,
                       title=f"queries {part[0] + 1}-{part[-1] + 1} of {len(rows)} beside their "
                             f"nearest in {where}")
        print(f"picture: {path}")
    if shown < len(rows):
        print(f"(the pictures show the first {shown} of {len(rows)} queries: --pictures N for "
              f"more; predictions.csv has them all)")


def _short(path: str, width: int = 16) -> str:
    """The end of a query's path that fits under its picture ("blue/0.png")."""
    p = Path(path)
    tail = f"{p.parent.name}/{p.name}" if p.parent.name else p.name
    return tail if len(tail) <= width else "..." + tail[-(width - 3):]
