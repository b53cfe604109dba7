"""The orderings' statistics: Student-t intervals over seeds, paired verdicts, the claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

from procmem.eval import claims as cl
from procmem.eval.intervals import compare, mean_ci, summarise


def test_mean_ci_on_known_numbers():
    s = mean_ci([1.0, 2.0, 3.0])
    # t(0.975, 2 dof) = 4.302653; s = 1; half width = 4.302653 / sqrt(3)
    assert s["mean"] == 2.0 and s["std"] == 1.0 and s["n"] == 3
    assert s["half_width"] == pytest.approx(4.302652729911275 / math.sqrt(3), rel=1e-9)
    assert (s["low"], s["high"]) == pytest.approx((2 - 2.4841377, 2 + 2.4841377), abs=1e-6)
    s = mean_ci([0.5, 0.7, 0.6, 0.8], confidence=0.9)  # t(0.95, 3 dof) = 2.353363
    assert s["half_width"] == pytest.approx(2.353363435 * np.std([.5, .7, .6, .8], ddof=1) / 2)
    one = mean_ci([0.4])
    assert one["half_width"] is None and one["low"] is None  # one seed: no interval
    fixed = mean_ci([0.4], deterministic=True)
    assert fixed["low"] == fixed["high"] == 0.4


def test_summarise_groups_runs_by_metric_and_model():
    runs = [{"kml": {"knn/x": 0.5, "linear/x": 0.6}}, {"kml": {"knn/x": 0.7}},
            {cl.PIXELS: {"knn/x": 0.9}}]
    s = summarise(runs, deterministic=cl.DETERMINISTIC)
    assert list(s) == ["knn/x", "linear/x"]
    assert s["knn/x"]["kml"]["values"] == [0.5, 0.7] and s["knn/x"]["kml"]["n"] == 2
    assert s["knn/x"][cl.PIXELS]["deterministic"] and s["knn/x"][cl.PIXELS]["half_width"] == 0.0
    assert s["linear/x"]["kml"]["low"] is None  # one run: no interval


def test_verdicts_and_claims():
    a, b = mean_ci([0.8, 0.82, 0.81]), mean_ci([0.5, 0.52, 0.51])
    assert compare(a, b) == "holds" and compare(b, a) == "does not hold"
    assert compare(a, mean_ci([0.7, 0.9, 0.8])) == "inconclusive"  # overlapping
    assert compare(a, mean_ci([0.3])) == "inconclusive"             # no interval
    # seeds share their initial weights: overlapping intervals, consistent per-seed gains
    hi, lo = mean_ci([0.62, 0.725, 0.83]), mean_ci([0.60, 0.70, 0.80])
    assert hi["low"] < lo["high"]
    assert compare(hi, lo) == "holds" and compare(lo, hi) == "does not hold"
    # against a deterministic model (pixels) the seeded interval must clear its value
    assert compare(a, mean_ci([0.85], deterministic=True)) == "does not hold"
    assert compare(a, mean_ci([0.81], deterministic=True)) == "inconclusive"
    assert cl.combine(["holds", "holds"]) == "holds"
    assert cl.combine(["holds", "inconclusive"]) == "inconclusive"
    assert cl.combine(["holds", "does not hold"]) == "does not hold"
    summary = {"knn-softmax/x": {"kml": a, "shaders": b, cl.RANDOM: b,
                                 cl.PIXELS: mean_ci([0.9], deterministic=True)}}
    claims = {c["name"]: c for c in cl.check_claims(summary)}
    assert claims["kml helps (kNN)"]["verdict"] == "holds"
    assert claims["procedural > raw pixels (kNN)"]["verdict"] == "does not hold"
    # shaders ties random init, and two processes are not in this run
    assert claims["procedural > random init (kNN)"]["verdict"] == "inconclusive"
    assert "kml-mixup" in claims["procedural > random init (kNN)"]["note"]
    assert claims["NIGHTS above random init"]["verdict"] == "not tested"
    from procmem.core.paths import REPO_ROOT

    listed = (REPO_ROOT / "docs" / "results.md").read_text()
    for c in cl.CLAIMS:  # the table docs/results.md lists: sourced, about known models
        assert f"| {c.name} | {c.statement} |" in listed
        assert ("Baradad" in c.source or "Rodriguez" in c.source) and c.family in (
            "knn", "linear", "nights", "camvid")
        assert set(c.better + c.worse) <= set(cl.PROCESSES + cl.BASELINES)
