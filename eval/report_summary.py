"""What a report says first: the headline comparison (each encoder's headline numbers with n
and 95% intervals, and its paired differences against random init and raw pixels with
verdicts), then what the run used (data sets, images per class, classes, encoders, k, rules,
interval methods). Built from the stored results (eval.store), the user's encoders first.
"""

from __future__ import annotations

from procmem.eval import store
from procmem.eval.comparisons import cell, comparisons, fmt_cell, fmt_diff
from procmem.eval.intervals import BOOTSTRAP, CONFIDENCE
from procmem.eval.results import markdown_table
from procmem.eval.roles import PIXELS, RANDOM
from procmem.eval.tables import row_label


def headlines() -> list[tuple[str, object, str]]:
    """(task, metric, label) of each task's headline number."""
    from procmem.eval.claims import PRIMARY_RULE
    from procmem.eval.classification import LINEAR, knn_metric
    from procmem.eval.nights import NIGHTS
    from procmem.eval.paper import COCO_R2
    from procmem.eval.segment_run import r2_metric

    return [("knn", knn_metric(PRIMARY_RULE), f"kNN top-1 ({PRIMARY_RULE} vote, k=20)"),
            ("linear", LINEAR, "linear probe top-1"), ("nights", NIGHTS, "NIGHTS 2AFC"),
            ("segment", r2_metric(3), "zero-shot R^2 (PCA 3)"),
            ("paper-coco", COCO_R2, "COCO R^2 (paper's definition)")]


def summary(rundir) -> tuple[str, list[dict]]:
    """The headline table as Markdown (empty when the run has no stored result) and its rows."""
    rows, out = [], []
    for task, metric, label in headlines():
        recs = store.records(rundir, task)
        if task == "segment":
            recs = [r for r in recs if "r2_pca3" in r["result"]]
        if not recs:
            continue
        diffs = {(d["encoder"], d["dataset"]): d for d in comparisons(recs, metric)}
        for rec in recs:
            d = diffs.get((rec["encoder"]["name"], rec["dataset"]["name"]), {})
            c = d.get("cell") or cell(rec, metric)
            rows.append([label, rec["dataset"]["name"], row_label(rec["encoder"]), fmt_cell(c),
                         fmt_diff(d.get(RANDOM)), fmt_diff(d.get(PIXELS))])
            out.append({"task": task, "metric": metric.name, "dataset": rec["dataset"]["name"],
                        "encoder": rec["encoder"]["name"], "cell": c, RANDOM: d.get(RANDOM),
                        PIXELS: d.get(PIXELS)})
    if not rows:
        return "", []
    md = markdown_table(["measure", "data set", "encoder", "value (%, 95% interval, n)",
                         "minus random init (same network and seed)", "minus raw pixels"], rows)
    return md + "\n\n" + _verdicts(out), out


def _verdicts(rows: list[dict]) -> str:
    """One line per encoder: how many of its headline differences are better / tie / worse."""
    lines = []
    for enc in dict.fromkeys(r["encoder"] for r in rows):
        parts = []
        for kind, what in ((RANDOM, "random init"), (PIXELS, "raw pixels")):
            vs = [r[kind]["verdict"] for r in rows if r["encoder"] == enc and r[kind]]
            if vs:
                parts.append(f"against {what}: {vs.count('better')} better, {vs.count('tie')} "
                             f"tie, {vs.count('worse')} worse of {len(vs)}")
        if parts:
            lines.append(f"- **{enc}** " + "; ".join(parts))
    return ("Verdicts (a difference is better or worse only when its 95% interval excludes 0):\n\n"
            + "\n".join(lines)) if lines else ""


def used(rundir, tasks) -> str:
    """What the run used, as Markdown: data sets, encoders, settings, interval methods."""
    recs = [r for t in tasks for r in store.records(rundir, t)]
    if not recs:
        return ""
    sets, encoders = {}, store.encoders_of(recs)
    for r in recs:
        sets.setdefault(r["dataset"]["name"], r["dataset"])
    set_rows = []
    for name, d in sets.items():
        if d.get("kind") == "classification":
            size = (f"memory {d['memory']} ({_range(d['memory_per_class'])} per class), queries "
                    f"{d['queries']} ({_range(d['queries_per_class'])} per class)")
            classes = _names(d.get("class_names") or [])
        elif d.get("kind") == "segmentation":
            size = f"{d['images']} images, {100 * d['labelled_pixels']:.0f}% of pixels labelled"
            classes = f"{d['classes']} (void label {d['void']})"
        else:
            size, classes = f"{d.get('triplets', '?')} triplets", "-"
        set_rows.append([name, size, classes, "x".join(map(str, d.get("image_shape", [])[:2])),
                         d.get("source") or "-"])
    enc_rows = [[row_label(e), e["role"], e["fingerprint"][:16], "-" if e.get("seed") is None else e["seed"],
                 e.get("preprocess") or "-"] for e in encoders]
    settings = sorted({f"{r['task']}: " + ", ".join(f"{k}={v}" for k, v in r["settings"].items())
                       for r in recs})
    hidden = {t: store.superseded(rundir, t) for t in tasks}
    hidden = ", ".join(f"{t}: {n}" for t, n in hidden.items() if n)
    return ("### Data sets\n\n" + markdown_table(["set", "images used", "classes", "image size",
                                                 "read from"], set_rows)
            + "\n\n### Encoders\n\n" + markdown_table(["encoder", "role", "fingerprint", "seed",
                                                       "preprocessing"], enc_rows)
            + "\n\n### Settings\n\n" + "\n".join(f"- {s}" for s in settings)
            + f"\n- intervals: {int(100 * CONFIDENCE)}%; accuracies Wilson, R^2 and mIoU "
              f"percentile bootstrap over images ({BOOTSTRAP} resamples, seed 0), NIGHTS mean "
              "+/- t * s / sqrt(n); differences paired on the same queries or images"
            + (f"\n- older results hidden by a newer one of the same encoder and set: {hidden}"
               if hidden else ""))


def _range(lo_hi) -> str:
    lo, hi = lo_hi
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _names(names: list[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return f"{len(names)}: {shown}" + (", ..." if len(names) > most else "")
