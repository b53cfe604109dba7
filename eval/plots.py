"""procmem's pictures (PNG, matplotlib Agg): neighbour grids, PCA maps, curves, confusion,
bar panels, accuracy against k. The evaluation, the demo and `procmem memory` draw with these.

Each function writes one file atomically and returns its path; nothing here computes results.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from procmem.core.atomic import atomic_write_bytes


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def _rgb(im: np.ndarray) -> np.ndarray:
    im = np.asarray(im)
    return np.repeat(im[..., None], 3, axis=-1) if im.ndim == 2 else im


def _picture(image, cell: int):
    """An image as given (array or PIL), or read from a file path; a blank cell when there is
    none or the file is not a readable image (a memory's sources may have moved)."""
    if image is None:
        return np.zeros((cell, cell, 3), np.uint8)
    if isinstance(image, (str, Path)):
        from PIL import Image

        try:
            with Image.open(image) as im:
                return im.convert("RGB")
        except (OSError, ValueError):
            return np.zeros((cell, cell, 3), np.uint8)
    return image


def _name(class_names, label: int) -> str:
    """A label's class name from a list or a {label: name} map; '-' for -1 (no neighbour)."""
    if label < 0:
        return "-"
    try:
        return str(class_names[label])
    except (KeyError, IndexError):
        return str(label)


def neighbour_grid(path, queries, query_labels, neighbours, neighbour_labels, class_names,
                   predictions=None, cell: int = 96, sims=None, query_captions=None,
                   title: str | None = None) -> Path:
    """Each row: a query, then its nearest memory images, nearest first (Geirhos et al. Fig. 1).

    Images are arrays, PIL images or file paths (unreadable ones are left blank);
    `class_names` a list or a {label: name} map. With `query_labels`, neighbour borders are
    green when a neighbour's label is the query's and red when not, and the query's caption
    gives its class and the memory's prediction (border green/red for right/wrong); without,
    there are no borders. `sims` adds each neighbour's similarity to its caption;
    `query_captions` replace the queries' captions (a file name and a decision; borders still
    follow `predictions`); `title` heads the sheet. A generators.sheet contact sheet, so all of
    procmem's image grids look alike.
    """
    from procmem.generators.sheet import save_sheet

    cols = 1 + max((len(row) for row in neighbours), default=0)
    pics, caps, borders = [], [], []
    for r, q in enumerate(queries):
        truth = None if query_labels is None else int(query_labels[r])
        pics.append(_picture(q, cell))
        cap = "query" if truth is None else f"query: {_name(class_names, truth)}"
        border = None
        if predictions is not None:
            p = int(predictions[r])
            cap += f"\npred: {_name(class_names, p)}"
            border = None if truth is None else "green" if p == truth else "red"
        caps.append(cap if query_captions is None else query_captions[r])
        borders.append(border)
        for c, im in enumerate(neighbours[r]):
            lab = int(neighbour_labels[r][c])
            pics.append(_picture(im, cell))
            sim = "" if sims is None else f" {float(sims[r][c]):+.3f}"
            caps.append(f"{c + 1}: {_name(class_names, lab)}{sim}")
            borders.append(None if truth is None else "green" if lab == truth else "red")
        for _ in range(cols - 1 - len(neighbours[r])):  # a short row is padded, not wrapped
            pics.append(np.zeros((cell, cell, 3), np.uint8))
            caps.append("")
            borders.append(None)
    return save_sheet(path, pics, captions=caps, cols=cols, cell=cell, borders=borders, title=title)


def confusion_matrix(path, truth, pred, class_names, title: str = "") -> Path:
    """Row-normalised confusion matrix (rows: true class, columns: predicted)."""
    plt = _plt()
    c = len(class_names)
    ok = np.asarray(pred) >= 0
    m = np.bincount(np.asarray(truth)[ok] * c + np.asarray(pred)[ok], minlength=c * c).reshape(c, c)
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    side = min(0.5 * c + 2.5, 14.0)  # 1,000 ImageNet classes still fit a page
    fig, ax = plt.subplots(figsize=(side, side - 0.5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if c <= 60:  # beyond that the names cannot be read; the matrix still shows its structure
        ax.set_xticks(range(c), class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(c), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=8)
    if c <= 12:
        for i in range(c):
            for j in range(c):
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if norm[i, j] > 0.5 else "black")
    return _save(fig, path)


def pca_maps(path, images, label_maps, maps_by_encoder: dict[str, list[np.ndarray]],
             num_classes: int) -> Path:
    """Per row an image, its labels, then each encoder's first-3-PCA-components map (Fig. 9)."""
    plt = _plt()
    names = list(maps_by_encoder)
    n = len(images)
    fig, axes = plt.subplots(n, 2 + len(names), figsize=(2.2 * (2 + len(names)), 1.8 * n),
                             squeeze=False)
    for r in range(n):
        axes[r, 0].imshow(_rgb(images[r]))
        axes[r, 1].imshow(np.ma.masked_greater_equal(label_maps[r], num_classes), cmap="tab20",
                          vmin=0, vmax=19, interpolation="nearest")
        H, W = np.asarray(label_maps[r]).shape[:2]
        for j, e in enumerate(names):
            m = maps_by_encoder[e][r]  # stretched to the image's aspect ratio
            axes[r, 2 + j].imshow(m, interpolation="nearest",
                                  aspect=(H / m.shape[0]) / (W / m.shape[1]))
        if r == 0:
            for ax, t in zip(axes[r], ["image", "labels"] + names):
                ax.set_title(t, fontsize=8)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    return _save(fig, path)


def _log_ticks(axis, values, most: int = 7) -> None:
    """Major ticks of a log axis at (at most `most`, evenly spread) data values, labelled
    plainly ('200', '0.05'), and no minor labels: matplotlib's default 2x10^1, 3x10^1 ...
    minor labels overlap on an axis spanning less than a decade."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    vals = sorted({float(v) for v in values if v and v > 0})
    if vals:  # at least 1/most of the axis's decades apart, so labels do not crowd
        gap = max(np.log10(vals[-1] / vals[0]) / most, 0.05)
        kept = [vals[0]]
        for v in vals[1:]:
            if np.log10(v / kept[-1]) >= gap:
                kept.append(v)
        vals = kept
    axis.set_major_locator(FixedLocator(vals))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    axis.set_minor_formatter(NullFormatter())


def overlapping_labels(fig) -> int:
    """How many pairs of tick labels on the same axis overlap once drawn (0 when readable)."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    count = 0
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [t.get_window_extent(r) for t in axis.get_ticklabels(which="both")
                     if t.get_visible() and t.get_text()]
            count += sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    return count


def curves_figure(series: dict[str, tuple], xlabel: str, ylabel: str, title: str = "",
                  logx: bool = False, logy: bool = False, annotate: dict[str, list] | None = None):
    """The figure `curves` saves (kept apart so its readability can be checked)."""
    from matplotlib.ticker import FixedLocator

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, (x, y) in series.items():
        ax.plot(x, y, marker="o", label=name)
        for xi, yi, t in zip(x, y, (annotate or {}).get(name, [])):
            ax.annotate(str(t), (xi, yi), fontsize=7, textcoords="offset points", xytext=(3, 3))
    if logx:
        ax.set_xscale("log")
        _log_ticks(ax.xaxis, [v for x, _ in series.values() for v in x])
    if logy:
        ax.set_yscale("log")
        _log_ticks(ax.yaxis, [v for _, y in series.values() for v in y])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7)
    for _ in range(4):  # still crowded (long labels): keep every other tick of a log axis
        if not (logx or logy) or not overlapping_labels(fig):
            break
        for axis, on in ((ax.xaxis, logx), (ax.yaxis, logy)):
            if on:
                ticks = list(axis.get_majorticklocs())
                axis.set_major_locator(FixedLocator(ticks[::2]))
    return fig


def curves(path, series: dict[str, tuple], xlabel: str, ylabel: str, title: str = "",
           logx: bool = False, logy: bool = False, annotate: dict[str, list] | None = None) -> Path:
    """Line plots: `series[name] = (x, y)`; optional per-point annotations (e.g. k); log axes
    are ticked at the data's own values."""
    return _save(curves_figure(series, xlabel, ylabel, title, logx, logy, annotate), path)


def bar_panels(path, panels: dict[str, list[tuple[str, float, float]]], title: str = "",
               ylabel: str = "", grey: tuple[str, ...] | set[str] = ()) -> Path:
    """A panel per key, a bar per (name, value, error) with error whiskers, up to 3 panels
    a row; bars named in `grey` (baselines) are drawn grey, the others blue."""
    plt = _plt()
    cols = max(1, min(3, len(panels)))
    rows = max(1, -(-len(panels) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (name, bars) in zip(axes.ravel(), panels.items()):
        labels = [b[0] for b in bars]
        ax.bar(range(len(bars)), [b[1] for b in bars], yerr=[b[2] for b in bars], capsize=4,
               color=["tab:grey" if lab in grey else "tab:blue" for lab in labels])
        ax.set_xticks(range(len(bars)), labels, rotation=35, ha="right", fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10, y=1.02)
    return _save(fig, path)


def accuracy_vs_k(path, sweep: dict, title: str = "") -> Path:
    """Top-1 accuracy against k for each voting rule (Geirhos et al. 2024, Fig. 2), from
    `{rule: memory.decisions.k_sweep(...)}` = {rule: {k: {1: top-1, ...}}}."""
    series = {rule: (sorted(c), [c[k][1] for k in sorted(c)]) for rule, c in sweep.items()}
    return curves(path, series, "k (neighbours)", "top-1 accuracy", title, logx=True)


def removal_sheet(path, sources, captions, title: str = "", cell: int = 96, limit: int = 64) -> Path:
    """What a removal would take (`procmem memory remove --dry-run`): each item's source image,
    or a blank cell where the source is not a readable image file, captioned (id, label, ...);
    the first `limit` items are drawn, the title says how many there are."""
    from procmem.generators.sheet import save_sheet

    shown = list(sources)[:limit]
    more = f" (the first {len(shown)} drawn)" if len(sources) > len(shown) else ""
    return save_sheet(path, [_picture(s, cell) for s in shown], captions=list(captions)[:limit],
                      cell=cell, title=f"{title}{more}")
