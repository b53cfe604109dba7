"""`procmem eval segment`: zero-shot PCA R^2, in-context and kNN mIoU of each encoder on a
segmentation set (definitions: eval/segmentation.py), stored per (encoder, set) with the
per-image values their bootstrap intervals come from, then tabled from every stored result.

Beside each R^2 the table prints the noise floor of that set and grid: the R^2 noise features
would reach on the cells each image actually keeps (void cells dropped), so a set with much
void reads against its own floor, not against n / (cells - 1) of a full grid.
"""

from __future__ import annotations

import numpy as np

from procmem.eval import plots, store
from procmem.eval.comparisons import Metric
from procmem.eval.datasets import LabelledImages, stratified_split
from procmem.eval.features import compute_features, slug
from procmem.eval.results import markdown_table, pictures_dir, write_result
from procmem.eval.segmentation_data import describe_segmentation
from procmem.eval.tables import metric_section, row_label


def r2_metric(c: int) -> Metric:
    return Metric(f"r2-pca{c}", f"zero-shot R^2 (PCA {c})", "mean", lambda a, r: a[f"r2_pca{c}"])


IN_CONTEXT = Metric("in-context-miou", "in-context mIoU", "iou", lambda a, r: a["in_context_iou"])
KNN_MIOU = Metric("knn-miou", "kNN mIoU", "miou", lambda a, r: a["knn_confusion"])


def run_segment(rundir, encoders, segset, cache=None, components=(3,), k: int = 20,
                rule: str = "plurality", seed: int = 0, pca_rows: int = 4,
                progress: bool = True, source=None) -> dict:
    """Zero-shot PCA R^2, in-context and kNN segmentation mIoU, PCA map pictures."""
    from procmem.core.progress import progress as bar
    from procmem.eval import segmentation as seg

    images = LabelledImages(f"{segset.name}-images", segset.images,
                            np.zeros(len(segset), np.int64), ["-"], list(segset.ids))
    n = len(segset)
    mi, qi = stratified_split(np.zeros(n), 0.5, seed) if n >= 2 else (np.arange(n), np.arange(n))
    shown = np.unique(np.linspace(0, n - 1, min(pca_rows, n)).round().astype(int))  # spread out
    info = describe_segmentation(segset, source)
    thumbs = _thumbnails(segset, shown)
    for enc in bar(encoders, desc=f"segment {segset.name}", unit="encoder", disable=not progress):
        pf = compute_features(enc, images, cache, kind="patch", progress=progress)
        r, arrays = {"grid": list(pf.shape[1:3])}, dict(thumbs)
        for c in components:
            z = seg.zero_shot_r2(pf, segset.masks, segset.num_classes, segset.void, c)
            arrays[f"r2_pca{c}"] = z.pop("per_image")
            arrays["kept_cells"] = z.pop("kept_cells")
            r[f"r2_pca{c}"] = z
        r["in_context"] = seg.in_context(pf, segset.masks, segset.num_classes, segset.void)
        arrays["in_context_iou"] = r["in_context"].pop("per_image_iou")
        r["knn"] = seg.knn_segmentation(pf[mi], segset.masks[mi], pf[qi], segset.masks[qi],
                                        segset.num_classes, segset.void, k, rule)
        arrays["knn_confusion"] = r["knn"].pop("per_image_confusion")
        arrays["pca_maps"] = np.stack([seg.pca_rgb(pf[i]) for i in shown])
        settings = {"components": list(components), "k": k, "rule": rule, "seed": seed}
        store.put(rundir, "segment", enc, info, settings, r, arrays)
    return write_segment(rundir)


def _thumbnails(segset, shown, side: int = 160) -> dict:
    """The pictured images and label maps, at most `side` px, kept with each record so the
    PCA-map picture can be redrawn with every encoder stored for the set."""
    from procmem.encoder.images import resize_images

    h, w = segset.images.shape[1:3]
    f = min(1.0, side / max(h, w))
    size = (max(1, round(h * f)), max(1, round(w * f)))
    masks = [np.asarray(m, np.int32) for m in segset.masks[shown]]
    from PIL import Image

    small = [np.asarray(Image.fromarray(m).resize(size[::-1], Image.NEAREST)) for m in masks]
    return {"shown_images": resize_images(segset.images[shown], size),
            "shown_masks": np.stack(small).astype(np.int64)}


def _pictures(rundir, recs: list[dict]) -> list[str]:
    """One PCA-map picture per set (Fig. 9 shape), every stored encoder of it side by side."""
    out = []
    for d in store.datasets_of(recs):
        mine = [r for r in recs if r["dataset"]["name"] == d]
        arrs = [store.arrays(r) for r in mine]
        if not all("pca_maps" in a for a in arrs):
            continue
        a0 = arrs[0]
        path = plots.pca_maps(pictures_dir(rundir) / f"segment-{slug(d)}-pca-maps.png",
                              a0["shown_images"], a0["shown_masks"],
                              {row_label(r["encoder"]): list(a["pca_maps"]) for r, a in zip(mine, arrs)},
                              mine[0]["dataset"]["classes"])
        out.append(path.relative_to(rundir).as_posix())
    return out


def write_segment(rundir) -> dict:
    """`segment.json` + `segment.md` from every stored segmentation result."""
    recs = store.records(rundir, "segment")
    if not recs:
        return {}
    results: dict = {}
    for rec in recs:
        results.setdefault(rec["encoder"]["name"], {})[rec["dataset"]["name"]] = rec["result"]
    comps = sorted({c for r in recs for c in r["settings"]["components"]})
    sets = store.datasets_of(recs)
    about = []
    for d in sets:
        r0 = next(r for r in recs if r["dataset"]["name"] == d)
        ds = r0["dataset"]
        about.append([d, ds["images"], ds["classes"], ds["void"], f"{100 * ds['labelled_pixels']:.0f}%",
                      "x".join(map(str, ds["image_shape"][:2]))])
    parts = ["Labels reach the patch grid as each cell's class fractions of non-void pixels "
             "(eval/segmentation.py). Zero-shot R^2: per image, those fractions fitted linearly "
             "from the first n PCA components of the image's patch features, averaged over "
             "images; intervals bootstrap over images.\n\n"
             + markdown_table(["set", "images", "classes", "void label", "labelled pixels",
                               "image size"], about)]
    floors = [[row_label(r["encoder"]), r["dataset"]["name"], "x".join(map(str, r["result"]["grid"]))]
              + [f"{100 * r['result'][f'r2_pca{c}']['noise_floor']:.1f}" if f"r2_pca{c}" in r["result"]
                 else "-" for c in comps] for r in recs]
    parts.append("Noise floors (%): the R^2 noise features reach on the cells each image keeps "
                 "(n / (kept cells - 1), averaged over the images scored); compare encoders on "
                 "equal grids.\n\n" + markdown_table(
                     ["encoder", "set", "grid"] + [f"floor (PCA {c})" for c in comps], floors))
    diffs = {}
    metrics = [([r for r in recs if f"r2_pca{c}" in r["result"]], r2_metric(c)) for c in comps]
    for sub, metric in metrics + [(recs, IN_CONTEXT), (recs, KNN_MIOU)]:
        md, rows = metric_section(sub, metric, f"**{metric.label}** (%, n images)")
        parts.append(md)
        diffs[metric.name] = rows
    write_result(rundir, "segment", {"results": results, "comparisons": diffs,
                                     "pictures": _pictures(rundir, recs)},
                 f"## Segmentation ({', '.join(sets)})\n\n" + "\n\n".join(parts))
    return results
