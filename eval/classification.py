"""`procmem eval knn` and `procmem eval linear`: measure, store each (encoder, data set) result,
then rebuild `knn.json`/`.md` and `linear.json`/`.md` from every result stored in the run.

kNN cells give top-1 accuracy at k = 20 (DINO's kNN protocol, capped at the memory size) with
n and a Wilson interval, and the best k of the sweep, labelled as tuned on the queries (the
optimistic choice dino's eval_knn.py reports as its best accuracy). Paired differences use
the fixed k.
"""

from __future__ import annotations

import numpy as np

from procmem.eval import plots, store
from procmem.eval.comparisons import Metric, cell, fmt_cell
from procmem.eval.datasets import describe_pair
from procmem.eval.features import compute_features, slug
from procmem.eval.results import pictures_dir, write_result
from procmem.eval.tables import metric_section, row_label

NEIGHBOUR_ROWS = 6


def knn_metric(rule: str, which: str = "fixed") -> Metric:
    """Top-1 correct per query of `rule` at the fixed k (or the record's best k)."""
    def values(arrays, result):
        k = result["fixed_k"] if which == "fixed" else result["best"][rule]["k"]
        return arrays["correct"][result["rules"].index(rule), result["all_ks"].index(k)]

    return Metric(f"knn-{rule}" + ("" if which == "fixed" else "-best"),
                  f"kNN {rule} top-1", "binary", values)


LINEAR = Metric("linear", "linear probe top-1", "binary", lambda a, r: a["correct"])


def _units(encoders, datasets, desc: str, progress: bool):
    from procmem.core.progress import progress as bar

    units = [(e, dn, d) for e in encoders for dn, d in datasets.items()]
    return bar(units, desc=desc, unit="result", disable=not progress)


def _feats(enc, mem, qry, cache, progress):
    return (compute_features(enc, mem, cache, progress=progress),
            compute_features(enc, qry, cache, progress=progress))


def run_knn(rundir, encoders, datasets: dict, cache=None, ks=None, rules=None,
            progress: bool = True, sources: dict | None = None, **vote_kw) -> dict:
    """kNN sweep (every rule, k sweep) per (encoder, data set): stored, pictured, tabled."""
    from procmem.eval.knn_table import KS, knn_sweep
    from procmem.memory.voting import RULES

    ks, rules = list(ks or KS), list(rules or RULES)
    pics = pictures_dir(rundir)
    for enc, dn, (mem, qry) in _units(encoders, datasets, "knn", progress):
        mf, qf = _feats(enc, mem, qry, cache, progress)
        r = knn_sweep(mf, mem.labels, qf, qry.labels, mem.num_classes, ks, rules, **vote_kw)
        correct = r.pop("correct")
        rule = "rank" if "rank" in rules else rules[0]
        pred, nb = r.pop("predictions")[rule], r.pop("neighbours")
        rng = np.random.default_rng(0)  # examples from across the classes, mistakes first
        wrong = rng.permutation(np.flatnonzero(pred != qry.labels))
        right = rng.permutation(np.flatnonzero(pred == qry.labels))
        nw = min(len(wrong), NEIGHBOUR_ROWS // 2)  # show mistakes too, not only successes
        rows = np.r_[wrong[:nw], right[:NEIGHBOUR_ROWS - nw]].astype(np.int64)
        tag = f"knn-{slug(enc.name)}-{slug(dn)}"
        grid = plots.neighbour_grid(pics / f"{tag}-neighbours.png", qry.images[rows],
                                    qry.labels[rows],
                                    [[mem.images[j] for j in nb[i] if j >= 0] for i in rows],
                                    [[mem.labels[j] for j in nb[i] if j >= 0] for i in rows],
                                    mem.class_names, pred[rows])
        conf = plots.confusion_matrix(pics / f"{tag}-confusion.png", qry.labels, pred,
                                      mem.class_names, f"{enc.name} on {dn}: {rule} voting, "
                                      f"k={r['fixed_k']}")
        r["pictures"] = [p.relative_to(rundir).as_posix() for p in (grid, conf)]
        r["vote"] = dict(vote_kw)
        settings = {"ks": ks, "rules": rules, "fixed_k": r["fixed_k"], "vote": dict(vote_kw)}
        store.put(rundir, "knn", enc, describe_pair(dn, mem, qry, (sources or {}).get(dn)),
                  settings, r, {"correct": correct})
    return write_knn(rundir)


def write_knn(rundir) -> dict:
    """`knn.json` + `knn.md` from every stored kNN result of the run directory."""
    recs = store.records(rundir, "knn")
    if not recs:
        return {}
    rules = recs[-1]["result"]["rules"]
    results: dict = {}
    for rec in recs:
        results.setdefault(_key(rec), {})[rec["dataset"]["name"]] = rec["result"]
    parts, diffs = [], {}
    fixed_ks = sorted({r["result"]["fixed_k"] for r in recs})
    for rule in rules:
        best = knn_metric(rule, "best")

        def extra(rec, best=best, rule=rule):
            return f"; best k={rec['result']['best'][rule]['k']}: {fmt_cell(cell(rec, best))}"

        md, rows = metric_section(recs, knn_metric(rule), f"**{rule} voting**: top-1 accuracy (%) "
                                  f"at k={'/'.join(map(str, fixed_ks))} with its 95% Wilson interval "
                                  "and n queries; then the best k of the sweep, tuned on the queries "
                                  "(optimistic)", extra)
        parts.append(md)
        diffs[rule] = rows
    data = {"results": results, "rules": rules, "ks": recs[-1]["settings"]["ks"],
            "comparisons": diffs, "superseded": store.superseded(rundir, "knn"),
            "pictures": [p for r in recs for p in r["result"].get("pictures", [])]}
    write_result(rundir, "knn", data, "## kNN classification\n\n" + "\n\n".join(parts))
    return results


def _key(rec: dict) -> str:
    """The results key of a record: the encoder's name (with its protocol when not ours)."""
    info = rec["encoder"]
    return info["name"] if info.get("protocol", "procmem") == "procmem" else row_label(info)


def run_linear(rundir, encoders, datasets: dict, cache=None, progress: bool = True,
               sources: dict | None = None) -> dict:
    """Linear probe per (encoder, data set) on the same cached features: stored, tabled."""
    from procmem.eval.linear_probe import DEFAULT_C, DEFAULT_MAX_ITER, heartbeat, linear_probe

    bar = _units(encoders, datasets, "linear probe", progress)
    for enc, dn, (mem, qry) in bar:
        mf, qf = _feats(enc, mem, qry, cache, progress)
        bar.set_postfix(fitting=f"{enc.name} on {dn}")
        with heartbeat(bar):
            r = linear_probe(mf, mem.labels, qf, qry.labels)
        r.pop("predictions")
        correct = r.pop("correct")
        store.put(rundir, "linear", enc, describe_pair(dn, mem, qry, (sources or {}).get(dn)),
                  {"C": DEFAULT_C, "max_iter": DEFAULT_MAX_ITER}, r, {"correct": correct})
    return write_linear(rundir)


def write_linear(rundir) -> dict:
    """`linear.json` + `linear.md` from every stored linear-probe result."""
    from procmem.eval.linear_probe import DEFAULT_C, DEFAULT_MAX_ITER

    recs = store.records(rundir, "linear")
    if not recs:
        return {}
    results: dict = {}
    for rec in recs:
        results.setdefault(_key(rec), {})[rec["dataset"]["name"]] = rec["result"]
    md, rows = metric_section(recs, LINEAR, f"Top-1 accuracy (%) of logistic regression "
                              f"(C={DEFAULT_C}, max_iter={DEFAULT_MAX_ITER}) on standardised frozen "
                              "features, with its 95% Wilson interval and n queries.")
    write_result(rundir, "linear", {"results": results, "comparisons": rows,
                                    "superseded": store.superseded(rundir, "linear")},
                 "## Linear probe\n\n" + md)
    return results
