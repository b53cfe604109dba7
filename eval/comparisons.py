"""Each table cell with n and its 95% interval, and each encoder's paired difference against
random init of its network and against raw pixels, with a verdict (better / worse / tie).

The values come from the per-item arrays stored with each result (eval.store), so intervals
and differences are recomputed from every stored record, whichever call made it. Kinds:

- `binary` (top-1 correct per query: kNN, linear probe): Wilson interval; the paired
  difference is bootstrapped over queries (both encoders' answers to the same resampled queries);
- `tmean` (NIGHTS agreement per triplet, ties 0.5): mean +/- t * s / sqrt(n) as the NIGHTS
  table always reported it (eval.intervals.mean_ci), paired t-interval of the differences;
- `mean` (R^2 per image; nan where an image has one label): bootstrap over images;
- `miou` (per-image confusion matrices of kNN segmentation): mIoU of the summed matrix,
  bootstrap over query images; `iou` (in-context IoU per prompt image and class): mean over
  classes of the per-class mean, bootstrap over prompt images.

Differences need the same items: two records of one data set fingerprint. Every interval is
eval.intervals' (one implementation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from procmem.eval import intervals as iv
from procmem.eval import store
from procmem.eval.roles import PIXELS, RANDOM, baselines_of


@dataclass(frozen=True)
class Metric:
    """One number per (encoder, data set) of a task, read from a record's stored arrays."""

    name: str
    label: str
    kind: str
    values: Callable[[dict, dict], np.ndarray]  # (arrays, result) -> per-item values


def _miou(conf: np.ndarray) -> float:
    tp = np.diagonal(conf, axis1=-2, axis2=-1).astype(np.float64)
    denom = conf.sum(-2) + conf.sum(-1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(denom > 0, tp / np.where(denom > 0, denom, 1), np.nan)
    return float(np.nanmean(iou)) if np.any(denom > 0) else float("nan")


def _iou_mean(per: np.ndarray) -> float:
    present = ~np.all(np.isnan(per), axis=0)
    if not present.any():
        return float("nan")
    return float(np.mean(np.nanmean(per[:, present], axis=0)))


STATISTIC = {"binary": lambda v: float(np.mean(v)) if len(v) else float("nan"),
             "tmean": lambda v: float(np.mean(v)) if len(v) else float("nan"),
             "mean": lambda v: float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan"),
             "miou": lambda v: _miou(v.sum(0)) if len(v) else float("nan"),
             "iou": lambda v: _iou_mean(v) if len(v) else float("nan")}


def cell(rec: dict, metric: Metric) -> dict:
    """{value, low, high, n, method} of one record's metric."""
    v = metric.values(store.arrays(rec), rec["result"])
    n = int(len(v))
    value = STATISTIC[metric.kind](v)
    if metric.kind == "binary":
        lo, hi = iv.wilson(int(np.sum(v)), n)
        method = "Wilson"
    elif metric.kind == "tmean":
        s = iv.mean_ci(v) if n else None
        lo, hi = (s["low"], s["high"]) if s and s["low"] is not None else (float("nan"),) * 2
        method = "t"
    else:
        lo, hi = iv.bootstrap_ci(lambda i: STATISTIC[metric.kind](v[i]), n)
        method = "bootstrap"
    if metric.kind == "mean":
        n = int(np.sum(~np.isnan(v)))
    return {"value": value, "low": lo, "high": hi, "n": n, "method": method}


def paired(rec: dict, base: dict, metric: Metric) -> dict | None:
    """rec minus base on the same items, with interval and verdict; None when the two records
    are not of the same data (fingerprints differ) or have different item counts."""
    if rec["dataset"]["fingerprint"] != base["dataset"]["fingerprint"]:
        return None
    a = metric.values(store.arrays(rec), rec["result"])
    b = metric.values(store.arrays(base), base["result"])
    if len(a) != len(b):
        return None
    stat = STATISTIC[metric.kind]
    diff = stat(a) - stat(b)
    if metric.kind == "tmean":
        s = iv.mean_ci(a - b) if len(a) > 1 else {"low": None}
        lo, hi = (s["low"], s["high"]) if s["low"] is not None else (float("nan"),) * 2
    else:
        lo, hi = iv.bootstrap_ci(lambda i: stat(a[i]) - stat(b[i]), len(a))
    return {"diff": diff, "low": lo, "high": hi, "n": int(len(a)),
            "verdict": iv.verdict(lo, hi), "against": base["encoder"]["name"]}


def comparisons(recs: list[dict], metric: Metric) -> list[dict]:
    """For every record with a baseline in `recs`: its paired differences against random init
    (same network and seed) and pixels, on the same data set."""
    infos = store.encoders_of(recs)
    by = {(r["encoder"]["name"], r["dataset"]["name"]): r for r in recs}
    out = []
    for rec in recs:
        partners = baselines_of(rec["encoder"], [i for i in infos
                                                 if (i["name"], rec["dataset"]["name"]) in by])
        row = {"encoder": rec["encoder"]["name"], "dataset": rec["dataset"]["name"],
               "metric": metric.name, "cell": cell(rec, metric)}
        for kind in (RANDOM, PIXELS):
            name = partners[kind]
            row[kind] = None if name is None else paired(rec, by[(name, rec["dataset"]["name"])],
                                                         metric)
        if row[RANDOM] is not None or row[PIXELS] is not None:
            out.append(row)
    return out


def fmt_cell(c: dict) -> str:
    """'62.3 [58.1, 66.2] n=500' (percent)."""
    if c["value"] != c["value"]:
        return f"- (n={c['n']})"
    ci = "" if c["low"] != c["low"] else f" [{100 * c['low']:.1f}, {100 * c['high']:.1f}]"
    return f"{100 * c['value']:.1f}{ci} n={c['n']}"


def fmt_diff(d: dict | None) -> str:
    """'+3.1 [+0.2, +6.0] better' (percentage points); '-' without a baseline."""
    if d is None:
        return "-"
    if d["low"] != d["low"]:
        return f"{100 * d['diff']:+.1f} (no interval) tie"
    return f"{100 * d['diff']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}] {d['verdict']}"
