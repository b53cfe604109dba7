"""The orderings run's tables: each run directory's metrics by model, `orderings.md` (claims,
training, one table per metric with its interval over seeds) and the bar charts."""

from __future__ import annotations

from pathlib import Path

from procmem.eval.claims import BASELINES, PRIMARY_RULE, VERDICTS
from procmem.eval.comparisons import fmt_cell
from procmem.eval.intervals import CONFIDENCE
from procmem.eval.results import markdown_table, read_result


def _seg(r: dict) -> dict:
    return {"r2-pca3": r["r2_pca3"]["r2"], "in-context-miou": r["in_context"]["miou"],
            "knn-miou": r["knn"]["miou"]}


def metrics_of(rundir: Path) -> dict:
    """{model: {metric: value}} from a run directory's knn/linear/nights/segment results."""
    out: dict = {}
    knn = read_result(rundir, "knn") or {"results": {}}
    for model, by_set in knn["results"].items():
        for ds, r in by_set.items():
            for rule, acc in r["fixed"].items():
                out.setdefault(model, {})[f"knn-{rule}/{ds}"] = acc
    for model, by_set in (read_result(rundir, "linear") or {"results": {}})["results"].items():
        for ds, r in by_set.items():
            out.setdefault(model, {})[f"linear/{ds}"] = r["accuracy"]
    for model, r in (read_result(rundir, "nights") or {"results": {}})["results"].items():
        out.setdefault(model, {})["nights/2afc"] = r["agreement"]
    for model, by_set in (read_result(rundir, "segment") or {"results": {}})["results"].items():
        for ds, r in by_set.items():
            out.setdefault(model, {}).update({f"{ds}/{k}": v for k, v in _seg(r).items()})
    return out


def intervals_of(rundir: Path) -> dict:
    """{model: {metric: cell}}: each value of `metrics_of` with its n and 95% interval over
    the queries or images, computed from the stored results as every eval table computes it."""
    from procmem.eval import store
    from procmem.eval.classification import LINEAR, knn_metric
    from procmem.eval.comparisons import cell
    from procmem.eval.nights import NIGHTS
    from procmem.eval.segment_run import IN_CONTEXT, KNN_MIOU, r2_metric

    out: dict = {}
    for rec in store.records(rundir, "knn"):
        for rule in rec["result"]["rules"]:
            out.setdefault(rec["encoder"]["name"], {})[f"knn-{rule}/{rec['dataset']['name']}"] = \
                cell(rec, knn_metric(rule))
    for task, metrics in (("linear", {"linear/{ds}": LINEAR}), ("nights", {"nights/2afc": NIGHTS}),
                          ("segment", {"{ds}/r2-pca3": r2_metric(3), "{ds}/in-context-miou": IN_CONTEXT,
                                       "{ds}/knn-miou": KNN_MIOU})):
        for rec in store.records(rundir, task):
            for key, metric in metrics.items():
                if task != "segment" or metric.name != "r2-pca3" or "r2_pca3" in rec["result"]:
                    out.setdefault(rec["encoder"]["name"], {})[
                        key.format(ds=rec["dataset"]["name"])] = cell(rec, metric)
    return out


def _fmt(s: dict) -> tuple[str, str]:
    mean = f"{100 * s['mean']:.1f}"
    if s["deterministic"]:
        return mean, "exact (deterministic)"
    if s["half_width"] is None:
        return mean, "- (one seed)"
    return mean, f"[{100 * s['low']:.1f}, {100 * s['high']:.1f}] (+/-{100 * s['half_width']:.1f})"


def markdown(result: dict) -> str:
    """`orderings.md` from what `orderings.json` holds."""
    st = result["settings"]
    parts = ["## Procedural orderings\n",
             f"Command: `{result['command']}`\n",
             f"Preset `{st['preset']}` (overrides: {' '.join(st['overrides']) or 'none'}), "
             f"{result['steps']} steps per model, seeds {', '.join(map(str, st['seeds']))}, "
             f"{st['images']} images per process at {st['resolution']} px. Values in %; "
             f"{int(100 * CONFIDENCE)}% Student-t intervals over seeds (n - 1 dof). kNN at k=20 "
             f"(capped at the memory size); claims read the {PRIMARY_RULE} rule.\n"]
    if result["skipped_datasets"]:
        parts.append("Skipped data sets:\n\n" + "\n".join(
            f"- {n}: {note}" for n, note in result["skipped_datasets"].items()) + "\n")
    parts.append("### Claims\n\n" + markdown_table(
        ["claim", "verdict", "comparisons (holds / not / inconclusive)", "source", "note"],
        [[c["name"], f"**{c['verdict']}**",
          " / ".join(str(c["counts"][v]) for v in VERDICTS[:3]), c["source"], c["note"]]
         for c in result["claims"]]) + "\n")
    parts.append("### Training (fixed step budget per model)\n\n" + markdown_table(
        ["model", "seed", "steps", "wall time (s)", "final loss", "note"],
        [[t["process"], t["seed"], t["steps"], f"{t['wall_s']:.0f}",
          "-" if t["final_loss"] is None else f"{t['final_loss']:.4f}",
          ("skipped (complete)" if t["skipped"] else "trained")
          + (f", resumed at step {t['resumed_from']}" if t.get("resumed_from") else "")]
         for t in result["training"]]) + "\n")
    within = result.get("seed_intervals", {})
    for metric, by_model in result["metrics"].items():
        rows = [[m, *_fmt(s), s["n"], ", ".join(fmt_cell(c) for c in within.get(metric, {}).get(m, []))
                 or ", ".join(f"{100 * v:.1f}" for v in s["values"])]
                for m, s in sorted(by_model.items(), key=lambda kv: -kv[1]["mean"])]
        parts.append(f"### {metric}\n\n" + markdown_table(
            ["model", "mean", f"{int(100 * CONFIDENCE)}% CI over seeds", "seeds",
             "per seed (95% interval over its queries or images, n)"], rows) + "\n")
    return "\n".join(parts)


def bar_charts(pictures: Path, summary: dict, models: list[str]) -> list[Path]:
    """One PNG per metric family: a panel per metric, a bar per model, CI whiskers."""
    from procmem.eval.plots import bar_panels

    families: dict = {}
    for metric in summary:
        families.setdefault(metric.split("/")[0], []).append(metric)
    paths = []
    for fam, metrics in families.items():
        panels = {metric: [(m, 100 * summary[metric][m]["mean"],
                            100 * (summary[metric][m]["half_width"] or 0.0))
                           for m in models if m in summary[metric]] for metric in metrics}
        paths.append(bar_panels(pictures / f"orderings-{fam}.png", panels,
                                f"{fam}: mean over seeds, {int(100 * CONFIDENCE)}% CI",
                                ylabel="%", grey=BASELINES))
    return paths
