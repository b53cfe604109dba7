"""`procmem eval privacy | scaling | unlearn | add-classes`: each audit of each (encoder, data
set) is stored (eval.store) and its table rebuilt from every stored audit, so several
encoders' audits sit side by side in one run directory. Accuracies carry n and a 95% Wilson
interval (eval.intervals).
"""

from __future__ import annotations

from procmem.eval import plots, store
from procmem.eval.datasets import describe_pair
from procmem.eval.features import compute_features, slug
from procmem.eval.intervals import wilson
from procmem.eval.results import markdown_table, pct, pictures_dir, write_result
from procmem.eval.tables import row_label


def set_name(mem) -> str:
    return mem.name.removesuffix("-memory")


def acc_ci(acc, n: int) -> str:
    """'91.0 [88.2, 93.2] n=500' for an accuracy over n queries."""
    if acc is None or acc != acc or n <= 0:
        return f"- (n={n})"
    lo, hi = wilson(round(acc * n), n)
    return f"{pct(acc)} [{pct(lo)}, {pct(hi)}] n={n}"


def _feats(encoder, mem, qry, cache, progress):
    return (compute_features(encoder, mem, cache, progress=progress),
            compute_features(encoder, qry, cache, progress=progress))


def _put(rundir, task, encoder, mem, qry, settings, result, source=None):
    return store.put(rundir, task, encoder, describe_pair(set_name(mem), mem, qry, source),
                     settings, result)


def run_privacy(rundir, encoder, mem, qry, cache=None, ks=(1, 5, 10, 20, 50),
                rules=("plurality", "rank"), progress: bool = True, source=None) -> dict:
    """Exact privacy audit over k: accuracy against the privacy-sensitive fraction."""
    from procmem.eval.privacy import privacy_sweep

    mf, qf = _feats(encoder, mem, qry, cache, progress)
    rows = privacy_sweep(mf, mem.labels, qf, qry.labels, mem.num_classes, ks, rules, progress)
    data = {"encoder": encoder.name, "dataset": mem.name, "memory_size": len(mem),
            "queries": len(qry), "rows": rows}
    _put(rundir, "privacy", encoder, mem, qry, {"ks": list(ks), "rules": list(rules)}, data, source)
    write_privacy(rundir)
    return data


def write_privacy(rundir) -> None:
    recs = store.records(rundir, "privacy")
    pics, table, all_rows = [], [], []
    for d in store.datasets_of(recs):
        mine = [r for r in recs if r["dataset"]["name"] == d]
        series, notes = {}, {}
        for r in mine:
            for rule in r["settings"]["rules"]:
                rr = [x for x in r["result"]["rows"] if x["rule"] == rule]
                label = f"{r['encoder']['name']}: {rule}"
                series[label] = ([100 * x["sensitive_fraction"] for x in rr],
                                 [100 * x["accuracy"] for x in rr])
                notes[label] = [f"k={x['k']}" for x in rr]
        pics.append(plots.curves(pictures_dir(rundir) / f"privacy-{slug(d)}-accuracy.png", series,
                                 "privacy-sensitive items (% of memory)", "top-1 accuracy (%)",
                                 f"{d}: accuracy vs privacy", annotate=notes
                                 ).relative_to(rundir).as_posix())
    for r in recs:
        n = r["result"]["queries"] if "queries" in r["result"] else r["dataset"]["queries"]
        for x in r["result"]["rows"]:
            table.append([row_label(r["encoder"]), r["dataset"]["name"], x["rule"], x["k"],
                          acc_ci(x["accuracy"], n), pct(x["sensitive_fraction"]),
                          x["sensitive_count"], x["changed_queries"]])
            all_rows.append({**x, "encoder": r["encoder"]["name"], "dataset": r["dataset"]["name"]})
    md = ("## Privacy audit (exact)\n\nSensitive: memory items whose removal changes at least "
          "one query's prediction (exact leave-one-out, eval/privacy.py).\n\n" + markdown_table(
              ["encoder", "set", "rule", "k", "accuracy (%)", "sensitive (%)", "sensitive items",
               "queries affected"], table))
    write_result(rundir, "privacy", {"rows": all_rows, "audits": [r["result"] for r in recs],
                                     "pictures": pics}, md)


def run_scaling(rundir, encoder, mem, qry, cache=None, rules=("plurality", "rank"),
                seed: int = 0, progress: bool = True, source=None) -> dict:
    """Error vs memory size with a log-log fit, plotted."""
    from procmem.eval.scaling import scaling_curve

    mf, qf = _feats(encoder, mem, qry, cache, progress)
    r = scaling_curve(mf, mem.labels, qf, qry.labels, mem.num_classes, rules, seed=seed,
                      progress=progress)
    r.update(encoder=encoder.name, dataset=mem.name, queries=len(qry))
    _put(rundir, "scaling", encoder, mem, qry, {"rules": list(rules), "seed": seed}, r, source)
    write_scaling(rundir)
    return r


def write_scaling(rundir) -> None:
    recs = store.records(rundir, "scaling")
    pics, parts = [], []
    for d in store.datasets_of(recs):
        mine = [r for r in recs if r["dataset"]["name"] == d]
        series = {f"{r['encoder']['name']}: {rule} (slope {r['result']['fit'][rule]['slope']:.2f})":
                  (r["result"]["sizes"], r["result"]["errors"][rule])
                  for r in mine for rule in r["settings"]["rules"]}
        pics.append(plots.curves(pictures_dir(rundir) / f"scaling-{slug(d)}-error.png", series,
                                 "memory size (items)", "top-1 error", f"{d}: error vs memory size",
                                 logx=True, logy=True).relative_to(rundir).as_posix())
    for r in recs:
        res, rules = r["result"], r["settings"]["rules"]
        n = res.get("queries", r["dataset"]["queries"])
        rows = [[s] + [acc_ci(res["errors"][rule][i], n) for rule in rules]
                for i, s in enumerate(res["sizes"])]
        fits = "; ".join(f"{rule}: error ~ 10^{res['fit'][rule]['intercept']:.2f} * "
                         f"N^{res['fit'][rule]['slope']:.3f}" for rule in rules)
        parts.append(f"**{row_label(r['encoder'])} on {r['dataset']['name']}**: top-1 error (%), "
                     f"k = min({res['k']}, N), 95% Wilson intervals. Log-log fit: {fits}.\n\n"
                     + markdown_table(["memory size"] + [f"{rule} error" for rule in rules], rows))
    write_result(rundir, "scaling", {"curves": [r["result"] for r in recs], "pictures": pics},
                 "## Memory-size scaling\n\n" + "\n\n".join(parts))


def run_unlearn(rundir, encoder, mem, qry, cache=None, fraction: float = 0.1,
                forget_class: int | None = None, k: int = 20, rule: str = "plurality",
                seed: int = 0, progress: bool = True, source=None) -> dict:
    """Unlearning audit on a real VisualMemory."""
    from procmem.eval.unlearning import unlearning_audit

    mf, qf = _feats(encoder, mem, qry, cache, progress)
    r = unlearning_audit(mf, mem.labels, qf, qry.labels, encoder.fingerprint, workdir=rundir,
                         fraction=fraction, forget_class=forget_class, k=k, rule=rule, seed=seed,
                         class_names=mem.class_names)
    kept = len(qry) if forget_class is None else int((qry.labels != forget_class).sum())
    r.update(encoder=encoder.name, dataset=mem.name, queries=len(qry), kept_queries=kept)
    settings = {"fraction": fraction, "forget_class": forget_class, "k": k, "rule": rule, "seed": seed}
    _put(rundir, "unlearn", encoder, mem, qry, settings, r, source)
    write_unlearn(rundir)
    return r


def write_unlearn(rundir) -> None:
    parts = []
    for rec in store.records(rundir, "unlearn"):
        r = rec["result"]
        e, u, f = r["efficiency"], r["utility"], r["forget_quality"]
        n, nk = r["queries"], r["kept_queries"]
        parts.append(f"**{row_label(rec['encoder'])} on {rec['dataset']['name']}**: {r['forgotten']} "
                     f"of {r['memory_size']} items forgotten\n\n" + markdown_table(["measure", "value"], [
                         ["remove, with receipt (s)", f"{e['remove_s']:.3f}"],
                         ["of which receipt checks (s)", f"{e['receipt_checks_s']:.3f}"],
                         ["rebuild from scratch (s)", f"{e['rebuild_s']:.3f}"],
                         ["rebuild / remove", f"{e['speedup']:.1f}x"],
                         ["accuracy before (%)", acc_ci(u["accuracy_before"], n)],
                         ["accuracy after (%)", acc_ci(u["accuracy_after"], n)],
                         ["accuracy on kept classes before (%)",
                          acc_ci(u["accuracy_kept_classes_before"], nk)],
                         ["accuracy on kept classes after (%)",
                          acc_ci(u["accuracy_kept_classes_after"], nk)],
                         ["forgotten ids retrieved by any probe", f["forgotten_ids_retrieved"]],
                         ["receipt checks", ", ".join(f"{c}: {'pass' if ok else 'FAIL'}"
                                                      for c, ok in f["receipt_checks"].items())],
                         ["forget quality", "pass" if f["passed"] else "FAIL"]]))
    recs = store.records(rundir, "unlearn")
    latest = recs[-1]["result"] if recs else {}
    write_result(rundir, "unlearn", {**latest, "audits": [r["result"] for r in recs]},
                 "## Unlearning\n\n" + "\n\n".join(parts))


def run_add_classes(rundir, encoder, mem, qry, cache=None, new_fraction: float = 0.5,
                    k: int = 20, rule: str = "plurality", progress: bool = True, source=None) -> dict:
    """Old/new class accuracy when classes are inserted without training."""
    import numpy as np

    from procmem.eval.add_classes import add_classes, split_classes

    mf, qf = _feats(encoder, mem, qry, cache, progress)
    new = split_classes(mem.num_classes, new_fraction)
    r = add_classes(mf, mem.labels, qf, qry.labels, encoder.fingerprint, new, k, rule,
                    workdir=rundir, class_names=mem.class_names)
    is_new = np.isin(qry.labels, new)
    r.update(encoder=encoder.name, dataset=mem.name, new_class_names=[mem.class_names[c] for c in new],
             old_queries=int((~is_new).sum()), new_queries=int(is_new.sum()), queries=len(qry))
    _put(rundir, "add_classes", encoder, mem, qry, {"new_fraction": new_fraction, "k": k, "rule": rule},
         r, source)
    write_add_classes(rundir)
    return r


def write_add_classes(rundir) -> None:
    recs = store.records(rundir, "add_classes")
    rows = [[row_label(rec["encoder"]), rec["dataset"]["name"], ", ".join(r["new_class_names"]),
             acc_ci(r["old_accuracy_before"], r["old_queries"]),
             acc_ci(r["old_accuracy_after"], r["old_queries"]),
             acc_ci(r["new_accuracy_after"], r["new_queries"]), acc_ci(r["all_accuracy_after"], r["queries"])]
            for rec in recs for r in [rec["result"]]]
    latest = recs[-1]["result"] if recs else {}
    write_result(rundir, "add_classes", {**latest, "audits": [r["result"] for r in recs]},
                 "## Adding classes without training\n\nA memory of the old classes, then the new "
                 "classes' items inserted as rows (no training); accuracies (%) with 95% Wilson "
                 "intervals.\n\n" + markdown_table(
                     ["encoder", "set", "new classes", "old classes before", "old classes after",
                      "new classes after", "all after"], rows))
