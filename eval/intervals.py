"""The interval maths of every table: means over seeds with Student-t intervals and "a > b"
decided paired by seed (the orderings); Wilson and bootstrap intervals over the queries or
images of one run, and better / worse / tie verdicts of paired differences (eval tables).

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


# ====== intervals within one run: over the queries or images of a data set ======

BOOTSTRAP = 1000
"""Resamples of the percentile bootstrap (Efron & Tibshirani 1993, ch. 13); seeded, so every
table is reproducible from its stored per-item values."""
VERDICT_WORDS = ("better", "worse", "tie")


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927): the binomial interval of an
    accuracy over n queries; (nan, nan) when n is 0."""
    from scipy import stats

    if n <= 0:
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_ci(statistic, n: int, confidence: float = CONFIDENCE, resamples: int = BOOTSTRAP,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic(index)` over n items resampled with
    replacement (index: int array [n]); nan draws (an empty class, say) are left out.

    A paired difference passes a statistic of both encoders on the same index, so both see the
    same resampled images.
    """
    import numpy as np

    if n <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(rng.integers(0, n, n)) for _ in range(resamples)], np.float64)
    draws = draws[~np.isnan(draws)]
    if not len(draws):
        return float("nan"), float("nan")
    lo, hi = np.quantile(draws, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return float(lo), float(hi)


def verdict(low: float, high: float) -> str:
    """better when the interval of a difference lies above 0, worse when below, else tie."""
    if low != low or high != high:  # nan: no interval
        return "tie"
    return "better" if low > 0 else "worse" if high < 0 else "tie"
