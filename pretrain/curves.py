"""`RUN/curves.png`: a run's training curves at a glance (loss, schedules, speed, kNN probe).

Redrawn from metrics.jsonl at every checkpoint, so the picture is never ahead of the
checkpoint it describes. Matplotlib with the Agg backend (no display needed).
"""

from __future__ import annotations

import io
from pathlib import Path

from procmem.core.atomic import atomic_write_bytes
from procmem.pretrain.metrics import read_metrics

CURVES_NAME = "curves.png"
PANELS = (
    ("DINO loss", ("loss",)),
    ("learning rate", ("lr",)),
    ("weight decay / teacher momentum / temperature", ("wd", "momentum", "teacher_temp")),
    ("images per second", ("img_per_s",)),
    ("kNN probe top-1 (real images)", ("probe_knn_top1",)),
)


def plot_curves(run_dir: str | Path) -> Path | None:
    """Draw the run's curves into RUN/curves.png; None when there is nothing logged yet."""
    rows = read_metrics(run_dir)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(t, keys) for t, keys in PANELS if any(k in r for r in rows for k in keys)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2), squeeze=False)
    for ax, (title, keys) in zip(axes[0], panels):
        for key in keys:
            pts = [(r["step"], r[key]) for r in rows if key in r]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, marker="o" if len(pts) < 20 else None, ms=3, label=key)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        if len(keys) > 1:
            ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    out = Path(run_dir) / CURVES_NAME
    atomic_write_bytes(out, buf.getvalue())
    return out
