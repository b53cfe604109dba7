"""The evaluation runs behind `procmem eval ...`: load, embed (cached), measure, write results.

Each `run_*` takes loaded data and encoders, writes `<rundir>/<name>.json` + `.md` and its
pictures under `<rundir>/pictures/<name>-*.png`, and returns the result dict, so the same
code serves the command line, the benchmarks and the tests.
"""

from __future__ import annotations

import numpy as np

from procmem.eval import plots
from procmem.eval.datasets import LabelledImages
from procmem.eval.features import compute_features, slug
from procmem.eval.results import markdown_table, pct, pictures_dir, write_result

NEIGHBOUR_ROWS = 6


def _feats(encoder, data: LabelledImages, cache, kind="embed", progress=True):
    return compute_features(encoder, data, cache, kind=kind, progress=progress)


def run_knn(rundir, encoders, datasets: dict, cache=None, ks=None, rules=None,
            progress: bool = True) -> dict:
    """kNN table (all rules, k sweep), neighbour grids and confusion matrices."""
    from procmem.eval.knn_table import KS, knn_sweep, table_markdown
    from procmem.memory.voting import RULES

    ks, rules = ks or KS, rules or RULES
    pics = pictures_dir(rundir)
    results: dict = {}
    for enc in encoders:
        en = enc.name
        for dn, (mem, qry) in datasets.items():
            mf, qf = _feats(enc, mem, cache, progress=progress), _feats(enc, qry, cache, progress=progress)
            r = knn_sweep(mf, mem.labels, qf, qry.labels, mem.num_classes, ks, rules)
            rule = "rank" if "rank" in rules else rules[0]
            pred, nb = r.pop("predictions")[rule], r.pop("neighbours")
            rng = np.random.default_rng(0)  # examples from across the classes, mistakes first
            wrong = rng.permutation(np.flatnonzero(pred != qry.labels))
            right = rng.permutation(np.flatnonzero(pred == qry.labels))
            nw = min(len(wrong), NEIGHBOUR_ROWS // 2)  # show mistakes too, not only successes
            rows = np.r_[wrong[:nw], right[:NEIGHBOUR_ROWS - nw]].astype(np.int64)
            tag = f"knn-{slug(en)}-{slug(dn)}"
            plots.neighbour_grid(pics / f"{tag}-neighbours.png", qry.images[rows], qry.labels[rows],
                                 [[mem.images[j] for j in nb[i] if j >= 0] for i in rows],
                                 [[mem.labels[j] for j in nb[i] if j >= 0] for i in rows],
                                 mem.class_names, pred[rows])
            plots.confusion_matrix(pics / f"{tag}-confusion.png", qry.labels, pred, mem.class_names,
                                   f"{en} on {dn}: {rule} voting, k={r['fixed_k']}")
            results.setdefault(en, {})[dn] = r
    names = [e.name for e in encoders]
    write_result(rundir, "knn", {"results": results, "rules": list(rules), "ks": list(ks)},
                 "## kNN classification\n\n" + table_markdown(results, names, list(datasets), rules))
    return results


def run_linear(rundir, encoders, datasets: dict, cache=None, progress: bool = True) -> dict:
    """Linear-probe table on the same cached features."""
    from procmem.eval.linear_probe import linear_probe, table_markdown

    results: dict = {}
    for enc in encoders:
        for dn, (mem, qry) in datasets.items():
            mf, qf = _feats(enc, mem, cache, progress=progress), _feats(enc, qry, cache, progress=progress)
            r = linear_probe(mf, mem.labels, qf, qry.labels)
            r.pop("predictions")
            results.setdefault(enc.name, {})[dn] = r
    names = [e.name for e in encoders]
    write_result(rundir, "linear", {"results": results},
                 "## Linear probe\n\n" + table_markdown(results, names, list(datasets)))
    return results


def run_nights(rundir, encoders, triplets, cache=None, progress: bool = True) -> dict:
    """NIGHTS 2AFC agreement with humans, per encoder."""
    from procmem.eval.nights import two_afc

    sides = {}
    for side in ("ref", "left", "right"):
        imgs = getattr(triplets, side)
        sides[side] = LabelledImages(f"nights-{side}", imgs, np.zeros(len(imgs), np.int64), ["-"])
    results, rows = {}, []
    for enc in encoders:
        f = {s: _feats(enc, d, cache, progress=progress) for s, d in sides.items()}
        r = two_afc(f["ref"], f["left"], f["right"], triplets.left_vote, triplets.right_vote)
        r.pop("per_triplet")
        results[enc.name] = r
        rows.append([enc.name, pct(r["agreement"]), f"{100 * r['stderr']:.1f}", r["n"],
                     r["model_ties"], r["human_ties"]])
    md = ("## NIGHTS 2AFC\n\nAgreement (%) of the model's choice (higher cosine similarity to "
          "the reference) with the human majority; ties count 0.5.\n\n"
          + markdown_table(["encoder", "agreement", "std. error", "triplets", "model ties",
                            "human ties"], rows))
    write_result(rundir, "nights", {"results": results}, md)
    return results


def run_segment(rundir, encoders, segset, cache=None, components=(3,), k: int = 20,
                rule: str = "plurality", seed: int = 0, pca_rows: int = 4,
                progress: bool = True) -> dict:
    """Zero-shot PCA R^2, in-context and kNN segmentation mIoU, PCA map pictures."""
    from procmem.eval import segmentation as seg
    from procmem.eval.datasets import stratified_split

    images = LabelledImages(f"{segset.name}-images", segset.images,
                            np.zeros(len(segset), np.int64), ["-"], list(segset.ids))
    n = len(segset)
    mi, qi = stratified_split(np.zeros(n), 0.5, seed) if n >= 2 else (np.arange(n), np.arange(n))
    results, maps = {}, {}
    shown = np.unique(np.linspace(0, n - 1, min(pca_rows, n)).round().astype(int))  # spread out
    for enc in encoders:
        pf = _feats(enc, images, cache, kind="patch", progress=progress)
        en = enc.name
        r = {"grid": list(pf.shape[1:3])}
        for c in components:
            z = seg.zero_shot_r2(pf, segset.masks, segset.num_classes, segset.void, c)
            z.pop("per_image")
            r[f"r2_pca{c}"] = z
        r["in_context"] = seg.in_context(pf, segset.masks, segset.num_classes, segset.void)
        r["knn"] = seg.knn_segmentation(pf[mi], segset.masks[mi], pf[qi], segset.masks[qi],
                                        segset.num_classes, segset.void, k, rule)
        results[en] = r
        maps[en] = [seg.pca_rgb(pf[i]) for i in shown]
    plots.pca_maps(pictures_dir(rundir) / "segment-pca-maps.png", segset.images[shown],
                   segset.masks[shown], maps, segset.num_classes)
    headers = ["encoder", "grid"] + [f"R^2 (PCA {c}; noise ~{c}/(cells-1))" for c in components] + \
        ["in-context mIoU", f"kNN mIoU (k={k})"]
    rows = [[en, "x".join(map(str, r["grid"]))]
            + [f"{r[f'r2_pca{c}']['r2']:.3f} ({c / max(r['grid'][0] * r['grid'][1] - 1, 1):.3f})"
               for c in components]
            + [pct(r["in_context"]["miou"]), pct(r["knn"]["miou"])] for en, r in results.items()]
    md = (f"## Segmentation ({segset.name}, {n} images)\n\nZero-shot R^2: per image, label "
          "fractions on the patch grid fitted linearly from the first n PCA components of the "
          "patch features, averaged over images (eval/segmentation.py). In brackets: the R^2 that "
          "noise features reach on that grid (n / (cells - 1)); compare encoders on equal grids.\n\n"
          + markdown_table(headers, rows))
    write_result(rundir, "segment", {"results": results, "images": n}, md)
    return results


def run_privacy(rundir, encoder, mem, qry, cache=None, ks=(1, 5, 10, 20, 50),
                rules=("plurality", "rank"), progress: bool = True) -> dict:
    """Exact privacy audit over k: accuracy against the privacy-sensitive fraction."""
    from procmem.eval.privacy import privacy_sweep

    mf, qf = _feats(encoder, mem, cache, progress=progress), _feats(encoder, qry, cache, progress=progress)
    rows = privacy_sweep(mf, mem.labels, qf, qry.labels, mem.num_classes, ks, rules)
    series, notes = {}, {}
    for rule in rules:
        rr = [r for r in rows if r["rule"] == rule]
        series[rule] = ([100 * r["sensitive_fraction"] for r in rr], [100 * r["accuracy"] for r in rr])
        notes[rule] = [f"k={r['k']}" for r in rr]
    plots.curves(pictures_dir(rundir) / "privacy-accuracy.png", series,
                 "privacy-sensitive items (% of memory)", "top-1 accuracy (%)",
                 f"{encoder.name} on {mem.name}: accuracy vs privacy", annotate=notes)
    md = ("## Privacy audit (exact)\n\nSensitive: memory items whose removal changes at least "
          "one query's prediction.\n\n" + markdown_table(
              ["rule", "k", "accuracy", "sensitive (%)", "sensitive items", "queries affected"],
              [[r["rule"], r["k"], pct(r["accuracy"]), pct(r["sensitive_fraction"]),
                r["sensitive_count"], r["changed_queries"]] for r in rows]))
    data = {"encoder": encoder.name, "dataset": mem.name, "memory_size": len(mem), "rows": rows}
    write_result(rundir, "privacy", data, md)
    return data


def run_scaling(rundir, encoder, mem, qry, cache=None, rules=("plurality", "rank"),
                seed: int = 0, progress: bool = True) -> dict:
    """Error vs memory size with a log-log fit, plotted."""
    from procmem.eval.scaling import scaling_curve

    mf, qf = _feats(encoder, mem, cache, progress=progress), _feats(encoder, qry, cache, progress=progress)
    r = scaling_curve(mf, mem.labels, qf, qry.labels, mem.num_classes, rules, seed=seed)
    plots.curves(pictures_dir(rundir) / "scaling-error.png",
                 {f"{rule} (slope {r['fit'][rule]['slope']:.2f})": (r["sizes"], r["errors"][rule])
                  for rule in rules}, "memory size (items)", "top-1 error",
                 f"{encoder.name} on {mem.name}", logx=True, logy=True)
    rows = [[n] + [pct(r["errors"][rule][i]) for rule in rules] for i, n in enumerate(r["sizes"])]
    fits = "; ".join(f"{rule}: error ~ 10^{r['fit'][rule]['intercept']:.2f} * N^{r['fit'][rule]['slope']:.3f}"
                     for rule in rules)
    md = (f"## Memory-size scaling\n\nTop-1 error (%), k = min({r['k']}, N). Log-log fit: {fits}.\n\n"
          + markdown_table(["memory size"] + [f"{rule} error" for rule in rules], rows))
    r.update(encoder=encoder.name, dataset=mem.name)
    write_result(rundir, "scaling", r, md)
    return r


def run_unlearn(rundir, encoder, mem, qry, cache=None, fraction: float = 0.1,
                forget_class: int | None = None, k: int = 20, rule: str = "plurality",
                seed: int = 0, progress: bool = True) -> dict:
    """Unlearning audit on a real VisualMemory."""
    from procmem.eval.unlearning import unlearning_audit

    mf, qf = _feats(encoder, mem, cache, progress=progress), _feats(encoder, qry, cache, progress=progress)
    r = unlearning_audit(mf, mem.labels, qf, qry.labels, encoder.fingerprint, workdir=rundir,
                         fraction=fraction, forget_class=forget_class, k=k, rule=rule, seed=seed,
                         class_names=mem.class_names)
    e, u, f = r["efficiency"], r["utility"], r["forget_quality"]
    md = (f"## Unlearning ({mem.name}, {r['forgotten']} of {r['memory_size']} items forgotten)\n\n"
          + markdown_table(["measure", "value"], [
              ["remove, with receipt (s)", f"{e['remove_s']:.3f}"],
              ["of which receipt checks (s)", f"{e['receipt_checks_s']:.3f}"],
              ["rebuild from scratch (s)", f"{e['rebuild_s']:.3f}"],
              ["rebuild / remove", f"{e['speedup']:.1f}x"],
              ["accuracy before", pct(u["accuracy_before"])], ["accuracy after", pct(u["accuracy_after"])],
              ["accuracy on kept classes before", pct(u["accuracy_kept_classes_before"])],
              ["accuracy on kept classes after", pct(u["accuracy_kept_classes_after"])],
              ["forgotten ids retrieved by any probe", f["forgotten_ids_retrieved"]],
              ["receipt checks", ", ".join(f"{n}: {'pass' if ok else 'FAIL'}"
                                           for n, ok in f["receipt_checks"].items())],
              ["forget quality", "pass" if f["passed"] else "FAIL"]]))
    r.update(encoder=encoder.name, dataset=mem.name)
    write_result(rundir, "unlearn", r, md)
    return r


def run_add_classes(rundir, encoder, mem, qry, cache=None, new_fraction: float = 0.5,
                    k: int = 20, rule: str = "plurality", progress: bool = True) -> dict:
    """Old/new class accuracy when classes are inserted without training."""
    from procmem.eval.add_classes import add_classes, split_classes

    mf, qf = _feats(encoder, mem, cache, progress=progress), _feats(encoder, qry, cache, progress=progress)
    new = split_classes(mem.num_classes, new_fraction)
    r = add_classes(mf, mem.labels, qf, qry.labels, encoder.fingerprint, new, k, rule,
                    workdir=rundir, class_names=mem.class_names)
    md = (f"## Adding classes without training ({mem.name})\n\nNew classes: "
          f"{', '.join(mem.class_names[c] for c in r['new_classes'])} ({r['added_items']} items "
          "inserted, no training).\n\n" + markdown_table(
              ["old classes before", "old classes after", "new classes after", "all after"],
              [[pct(r["old_accuracy_before"]), pct(r["old_accuracy_after"]),
                pct(r["new_accuracy_after"]), pct(r["all_accuracy_after"])]]))
    r.update(encoder=encoder.name, dataset=mem.name)
    write_result(rundir, "add_classes", r, md)
    return r


def run_compartment(rundir, export=None, shards=None, rebuild: int = 8, seed: int = 0,
                    progress: bool = True, renderer=None) -> dict:
    """Compartmentalisation audit of an encoder export (or a shard set alone)."""
    from procmem.eval.compartment import audit_export, audit_shards

    r = (audit_export(export, shards, progress, rebuild, seed, renderer) if export
         else audit_shards(shards, None, progress, rebuild, seed, renderer))
    rows = [[k, r[k]] for k in ("verdict", "shards", "samples", "programs", "library_programs",
                                "generated_programs", "violations") if k in r]
    if "rebuilt" in r:
        rb = r["rebuilt"]
        rows.append(["rebuilt from JSON, pixel-identical", f"{rb['exact']} of {rb['checked']}"
                     + (f" ({rb['program_changed']} not rebuildable: program text changed since)"
                        if rb["program_changed"] else "")])
    md = ("## Compartmentalisation audit\n\nEvery training image must come from a program "
          "(lib/... or gen/<v>/<seed>) recorded in its shard sample; no paths, no real images.\n\n"
          + markdown_table(["measure", "value"], rows))
    if r.get("first_violations"):
        md += "\n\nFirst violations:\n\n" + "\n".join(f"- {v}" for v in r["first_violations"])
    if r.get("reason"):
        md += f"\n\n{r['reason']}"
    write_result(rundir, "compartment", r, md)
    return r
