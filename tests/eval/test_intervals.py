"""Intervals within one run: Wilson, bootstrap, verdicts, and paired differences of stored
results (the one implementation, eval/intervals.py, used by every table)."""

import numpy as np
import pytest

from procmem.eval import intervals as iv
from procmem.eval import store
from procmem.eval.comparisons import Metric, cell, comparisons, fmt_diff


def test_wilson_known_values():
    lo, hi = iv.wilson(8, 10)
    # Wilson 1927: p = 0.8, n = 10, z = 1.96 -> [0.490, 0.943]
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert iv.wilson(0, 20)[0] == 0.0 and iv.wilson(20, 20)[1] == 1.0
    assert all(np.isnan(iv.wilson(0, 0)))


def test_bootstrap_and_verdict():
    v = np.r_[np.ones(60), np.zeros(40)]
    lo, hi = iv.bootstrap_ci(lambda i: v[i].mean(), len(v))
    assert lo < 0.6 < hi and hi - lo == pytest.approx(2 * 1.96 * np.sqrt(0.24 / 100), abs=0.03)
    assert iv.bootstrap_ci(lambda i: v[i].mean(), len(v)) == (lo, hi)  # seeded
    assert iv.verdict(0.01, 0.2) == "better" and iv.verdict(-0.3, -0.1) == "worse"
    assert iv.verdict(-0.1, 0.1) == "tie" and iv.verdict(float("nan"), 1) == "tie"


ACC = Metric("acc", "accuracy", "binary", lambda a, r: a["correct"])


def _put(tmp_path, name, fp, network, seed, correct, data_fp="d1"):
    enc = {"name": name, "fingerprint": fp, "role": "pixels" if fp.startswith("pixels") else
           "random" if fp.startswith("random:") else "learned", "network": network,
           "seed": seed, "preprocess": None, "protocol": "procmem"}
    return store.put(tmp_path, "t", enc, {"name": "set", "fingerprint": data_fp}, {}, {},
                     {"correct": np.asarray(correct, np.uint8)})


def test_paired_differences_pair_the_right_baselines(tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.random(400)
    mine = (truth < 0.8).astype(int)          # 80% right
    rand0 = (truth < 0.5).astype(int)         # a subset of mine's right answers
    rand1 = (rng.random(400) < 0.8).astype(int)
    _put(tmp_path, "mine", "abc", "vit", 0, mine)
    _put(tmp_path, "random-0", "random:vit:0", "vit", 0, rand0)
    _put(tmp_path, "random-1", "random:vit:1", "vit", 1, rand1)
    _put(tmp_path, "other-net", "random:cnn:0", "cnn", 0, rand1)
    _put(tmp_path, "pixels", "pixels:8:2", None, None, mine)
    recs = store.records(tmp_path, "t")
    assert [r["encoder"]["name"] for r in recs][0] == "mine"  # learned first
    rows = {r["encoder"]: r for r in comparisons(recs, ACC)}
    d = rows["mine"]["random"]
    assert d["against"] == "random-0"            # same network and seed
    assert d["diff"] == pytest.approx(np.mean(mine) - np.mean(rand0)) and d["verdict"] == "better"
    assert 0.2 < d["low"] < d["diff"] < d["high"]
    assert rows["mine"]["pixels"]["diff"] == 0 and rows["mine"]["pixels"]["verdict"] == "tie"
    assert rows["random-0"]["random"] is None and rows["random-0"]["pixels"]["verdict"] == "worse"
    assert fmt_diff(d).startswith(f"{100 * d['diff']:+.1f} [") and fmt_diff(d).endswith("better")
    c = cell(recs[0], ACC)
    assert c["n"] == 400 and c["low"] < c["value"] < c["high"] and c["method"] == "Wilson"
    # another data set (fingerprint) is never paired
    _put(tmp_path, "pixels", "pixels:8:2", None, None, mine[:10], data_fp="d2")
    recs = store.records(tmp_path, "t")
    assert len(recs) == 5 and store.superseded(tmp_path, "t") == 1  # the newest pixels row
    assert {r["encoder"]: r for r in comparisons(recs, ACC)}["mine"]["pixels"] is None
