"""Segmentation read-outs of patch features: zero-shot PCA R^2, in-context, kNN (no training).

Labels on the patch grid. An encoder's `patch_features` give an h x w grid per image. The
human label map (H x W, class ids, `void` ignored) is brought to that grid by cutting it into
h x w cells (cell (r, c) covers rows floor(r H / h) .. floor((r+1) H / h) - 1, likewise
columns) and taking each cell's *label fractions*: the share of its non-void pixels in each
class. A cell with no non-void pixel is dropped; a cell's majority label is its argmax.

Zero-shot segmentation (Rodriguez-Munoz et al. 2025, Table 2, Fig. 9): for each image, fit PCA
to that image's (kept) patch features, keep the first n components (default 3, the three shown
as RGB in Fig. 9), and fit ordinary least squares with an intercept from those components to
the label fractions (one output per class). R^2 = 1 - SS_res / SS_tot summed over all classes
and cells (variance-weighted multi-output R^2), computed per image, then averaged over images;
images whose kept cells all share one label (SS_tot = 0), or that keep fewer than two cells,
are skipped. R^2 is 1 when the components encode the labels linearly and about n / (m - 1)
for noise, m the cells an image keeps (`noise_floor` averages it over the images scored).

In-context segmentation (Fig. 10): a prompt image and its mask select a concept c. Prototypes
are the mean unit patch features of the prompt's cells whose majority label is c (foreground)
and of its other kept cells (background); a query cell is foreground when it is more similar
(cosine) to the foreground prototype. IoU against the query's majority-label == c cells, for
each class c present in both images of each (image i, image i+1) pair; mIoU averages the pairs'
IoU per class, then over classes.

kNN segmentation (Fig. 11): the memory images' kept cells (unit patch features, majority
labels) form a patch memory; each query cell takes its k neighbours' vote (memory.voting,
default k = 20, plurality); mIoU over the classes that occur, from the confusion matrix of all
query cells.
"""

from __future__ import annotations

import numpy as np

from procmem.eval.neighbours import exact_topk, neighbour_labels
from procmem.memory.voting import predict, vote


def label_fractions(mask: np.ndarray, grid: tuple[int, int], num_classes: int, void: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell class fractions [h, w, C] of non-void pixels, and which cells have any ([h, w])."""
    H, W = mask.shape
    h, w = grid
    rows = (np.arange(H) * h) // H
    cols = (np.arange(W) * w) // W
    cell = rows[:, None] * w + cols[None, :]
    keep = mask != void
    counts = np.bincount(cell[keep] * num_classes + mask[keep].astype(np.int64),
                         minlength=h * w * num_classes).reshape(h, w, num_classes).astype(np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    valid = total[..., 0] > 0
    return counts / np.maximum(total, 1), valid


def _pca(x: np.ndarray, n: int) -> np.ndarray:
    """The first n principal-component scores of the rows of x (centred), [P, n]."""
    x = x - x.mean(axis=0, keepdims=True)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    n = min(n, len(s))
    return u[:, :n] * s[:n]


def r2_image(features: np.ndarray, fractions: np.ndarray, valid: np.ndarray,
             n_components: int = 3) -> float:
    """R^2 of one image's label fractions from its first n PCA components (nan if one label)."""
    x = features[valid].astype(np.float64)
    y = fractions[valid]
    if len(x) < 2:  # no (or one) labelled cell: nothing to explain
        return float("nan")
    ss_tot = np.sum((y - y.mean(axis=0)) ** 2)
    if ss_tot <= 1e-12:
        return float("nan")
    z = np.c_[np.ones(len(x)), _pca(x, n_components)]
    coef, *_ = np.linalg.lstsq(z, y, rcond=None)
    return float(1.0 - np.sum((y - z @ coef) ** 2) / ss_tot)


def grid_labels(masks, grid, num_classes, void):
    """Fractions [N, h, w, C], valid [N, h, w] and majority labels [N, h, w] (-1 where invalid)."""
    fr, va = zip(*(label_fractions(m, grid, num_classes, void) for m in masks))
    fr, va = np.stack(fr), np.stack(va)
    major = np.where(va, fr.argmax(axis=-1), -1)
    return fr, va, major


def zero_shot_r2(patch_feats: np.ndarray, masks, num_classes: int, void: int,
                 n_components: int = 3) -> dict:
    """Mean (and per-image) PCA R^2 over a set; see the module docstring for the definition."""
    fr, va, _ = grid_labels(masks, patch_feats.shape[1:3], num_classes, void)
    per = np.array([r2_image(f, a, v, n_components) for f, a, v in zip(patch_feats, fr, va)])
    ok = ~np.isnan(per)
    kept = va.reshape(len(va), -1).sum(axis=1)
    return {"r2": float(per[ok].mean()) if ok.any() else float("nan"),
            "images": int(ok.sum()), "skipped": int((~ok).sum()),
            "n_components": n_components, "noise_floor": noise_floor(kept[ok], n_components),
            "per_image": per, "kept_cells": kept}


def noise_floor(kept_cells, n_components: int) -> float:
    """The R^2 noise features reach, averaged over the images scored: a least-squares fit
    with an intercept and n regressors on m cells explains n / (m - 1) of pure noise in
    expectation, and m is the number of cells each image actually keeps (void dropped)."""
    m = np.asarray(kept_cells, np.float64)
    m = m[m > 1]
    return float(np.mean(np.minimum(n_components / (m - 1), 1.0))) if len(m) else float("nan")


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def in_context(patch_feats: np.ndarray, masks, num_classes: int, void: int) -> dict:
    """Prompt-prototype segmentation mIoU over (image i, image i+1) pairs (Fig. 10)."""
    _, _, major = grid_labels(masks, patch_feats.shape[1:3], num_classes, void)
    f = _unit(patch_feats)
    n = len(f)
    per_class: dict[int, list[float]] = {}
    per_image = np.full((n, num_classes), np.nan)
    for i in range(n if n > 1 else 0):
        j = (i + 1) % n
        pl, ql = major[i], major[j]
        for c in np.intersect1d(np.unique(pl[pl >= 0]), np.unique(ql[ql >= 0])):
            fg, bg = f[i][pl == c], f[i][(pl >= 0) & (pl != c)]
            if len(bg) == 0:
                continue
            proto = _unit(np.stack([fg.mean(0), bg.mean(0)]))
            qv = ql >= 0
            s = f[j][qv] @ proto.T
            pred, truth = s[:, 0] > s[:, 1], ql[qv] == c
            union = np.sum(pred | truth)
            per_class.setdefault(int(c), []).append(float(np.sum(pred & truth) / union))
            per_image[i, int(c)] = per_class[int(c)][-1]
    ious = {c: float(np.mean(v)) for c, v in sorted(per_class.items())}
    return {"miou": float(np.mean(list(ious.values()))) if ious else float("nan"),
            "per_class_iou": ious, "pairs": int(sum(len(v) for v in per_class.values())),
            "per_image_iou": per_image}


def miou_from_confusion(conf: np.ndarray) -> tuple[float, dict]:
    """Mean IoU over classes that occur (TP / (TP + FP + FN)), and the per-class IoU."""
    tp = np.diag(conf).astype(np.float64)
    denom = conf.sum(0) + conf.sum(1) - tp
    ious = {int(c): float(tp[c] / denom[c]) for c in range(len(tp)) if denom[c] > 0}
    return (float(np.mean(list(ious.values()))) if ious else float("nan")), ious


def knn_segmentation(mem_feats, mem_masks, qry_feats, qry_masks, num_classes: int, void: int,
                     k: int = 20, rule: str = "plurality") -> dict:
    """Label query cells by a vote of their k nearest memory cells (Fig. 11); mIoU."""
    grid = mem_feats.shape[1:3]
    _, _, mm = grid_labels(mem_masks, grid, num_classes, void)
    _, _, qm = grid_labels(qry_masks, qry_feats.shape[1:3], num_classes, void)
    mv, qv = mm >= 0, qm >= 0
    mf, ml = _unit(mem_feats[mv]), mm[mv]
    qf, ql = _unit(qry_feats[qv]), qm[qv]
    owner = np.nonzero(qv)[0]  # the query image of each kept cell
    sims, idx = exact_topk(qf, mf, max(1, min(k, len(ml))))
    pred = predict(vote(neighbour_labels(idx, ml), sims, rule, num_classes))
    ok = pred >= 0
    flat = (owner[ok] * num_classes + ql[ok]) * num_classes + pred[ok]
    per_image = np.bincount(flat, minlength=len(qm) * num_classes * num_classes).reshape(
        len(qm), num_classes, num_classes)
    conf = per_image.sum(axis=0)
    miou, ious = miou_from_confusion(conf)
    return {"miou": miou, "per_class_iou": ious, "k": int(idx.shape[1]), "rule": rule,
            "memory_cells": int(len(ml)), "query_cells": int(len(ql)),
            "pixel_accuracy": float(np.trace(conf) / max(conf.sum(), 1)),
            "per_image_confusion": per_image}


def pca_rgb(features: np.ndarray) -> np.ndarray:
    """The first three PCA components of one image's patch features as uint8 RGB [h, w, 3]."""
    h, w, d = features.shape
    z = _pca(features.reshape(h * w, d).astype(np.float64), 3)
    if z.shape[1] < 3:
        z = np.c_[z, np.zeros((len(z), 3 - z.shape[1]))]
    lo, hi = z.min(0), z.max(0)
    z = (z - lo) / np.where(hi > lo, hi - lo, 1.0)
    return (z.reshape(h, w, 3) * 255).round().astype(np.uint8)
