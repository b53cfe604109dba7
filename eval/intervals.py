"""Means over seeds with Student-t intervals, and 'a > b' decided paired by seed.

The orderings' statistics (docs/results.md, steps 5-6): mean +/- t(0.5 + c/2, n - 1) * s /
sqrt(n), s the sample standard deviation; two seeded models are compared by the interval of
their per-seed differences, since every model of seed s starts from the same weights.
"""

from __future__ import annotations

from procmem.core.errors import ProcmemError

CONFIDENCE = 0.95


def mean_ci(values, confidence: float = CONFIDENCE, deterministic: bool = False) -> dict:
    """Mean and two-sided Student-t interval (n - 1 dof) of `values`.

    A deterministic model's value is its own interval (width 0). With fewer than two values
    of a seeded model there is no interval: `low`/`high`/`half_width` are None.
    """
    import numpy as np
    from scipy import stats

    v = np.asarray(list(values), dtype=np.float64)
    n = len(v)
    if n == 0:
        raise ProcmemError("no values to aggregate: a model with no result in any run")
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else 0.0
    if deterministic:
        half = 0.0
    elif n < 2:
        half = None
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n))
    return {"mean": mean, "std": std, "n": n, "half_width": half,
            "low": None if half is None else mean - half,
            "high": None if half is None else mean + half,
            "confidence": confidence, "deterministic": deterministic,
            "values": [float(x) for x in v]}


def compare(a: dict, b: dict, confidence: float = CONFIDENCE) -> str:
    """Verdict on 'a > b' from two mean_ci results: holds, does not hold, or inconclusive.

    Two seeded models with one value per seed (same seeds, same order) are compared
    *paired*: every model of seed s starts from the same initial weights (random init of
    seed s), so the Student-t interval of the per-seed differences a_s - b_s decides (holds:
    entirely above 0; does not hold: entirely below). Otherwise (a deterministic model such
    as pixels, or unequal seeds) the two intervals must not overlap. A missing interval is
    inconclusive.
    """
    if a["low"] is None or b["low"] is None:
        return "inconclusive"
    if not a["deterministic"] and not b["deterministic"] and a["n"] == b["n"] >= 2:
        d = mean_ci([x - y for x, y in zip(a["values"], b["values"])], confidence)
        lo, hi = d["low"], d["high"]
    else:
        lo, hi = a["low"] - b["high"], a["high"] - b["low"]
    if lo > 0:
        return "holds"
    if hi < 0:
        return "does not hold"
    return "inconclusive"


def summarise(per_run: list[dict], deterministic=()) -> dict:
    """{metric: {model: mean_ci}} from several runs' {model: {metric: value}} (one per seed);
    models in `deterministic` have one run and an exact value."""
    values: dict = {}
    for run in per_run:
        for model, ms in run.items():
            for metric, v in ms.items():
                values.setdefault(metric, {}).setdefault(model, []).append(v)
    return {metric: {model: mean_ci(vs, deterministic=model in deterministic)
                     for model, vs in by_model.items()}
            for metric, by_model in sorted(values.items())}
