"""`procmem eval orderings`: the interval maths, the claim verdicts, and a tiny real run
(shaders rendered, DINO trained a few steps, exported, evaluated) that resumes on a rerun."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from procmem.cli import main
from procmem.pipeline import orderings as od

TINY = [  # the tiny-cpu preset shrunk to seconds: 32 px, one block, 2 steps
    "model.timm_kwargs={patch_size: 8, img_size: 32, depth: 1}", "model.out_dim=64",
    "model.hidden_dim=64", "model.bottleneck_dim=16", "crops.global_size=32",
    "crops.local_size=16", "crops.local_number=1", "optim.batch_size=4",
    "schedule.epochs=1", "schedule.steps_per_epoch=2", "data.workers=0",
    "data.shuffle_buffer=8", "run.threads=1", "run.device=cpu", "run.checkpoint_every=100",
]


def test_mean_ci_on_known_numbers():
    s = od.mean_ci([1.0, 2.0, 3.0])
    # t(0.975, 2 dof) = 4.302653; s = 1; half width = 4.302653 / sqrt(3)
    assert s["mean"] == 2.0 and s["std"] == 1.0 and s["n"] == 3
    assert s["half_width"] == pytest.approx(4.302652729911275 / math.sqrt(3), rel=1e-9)
    assert (s["low"], s["high"]) == pytest.approx((2 - 2.4841377, 2 + 2.4841377), abs=1e-6)
    s = od.mean_ci([0.5, 0.7, 0.6, 0.8], confidence=0.9)  # t(0.95, 3 dof) = 2.353363
    assert s["half_width"] == pytest.approx(2.353363435 * np.std([.5, .7, .6, .8], ddof=1) / 2)
    one = od.mean_ci([0.4])
    assert one["half_width"] is None and one["low"] is None  # one seed: no interval
    fixed = od.mean_ci([0.4], deterministic=True)
    assert fixed["low"] == fixed["high"] == 0.4


def test_verdicts_and_claims():
    a, b = od.mean_ci([0.8, 0.82, 0.81]), od.mean_ci([0.5, 0.52, 0.51])
    assert od.compare(a, b) == "holds" and od.compare(b, a) == "does not hold"
    assert od.compare(a, od.mean_ci([0.7, 0.9, 0.8])) == "inconclusive"  # overlapping
    assert od.compare(a, od.mean_ci([0.3])) == "inconclusive"             # no interval
    # seeds share their initial weights: overlapping intervals, consistent per-seed gains
    hi, lo = od.mean_ci([0.62, 0.725, 0.83]), od.mean_ci([0.60, 0.70, 0.80])
    assert hi["low"] < lo["high"]
    assert od.compare(hi, lo) == "holds" and od.compare(lo, hi) == "does not hold"
    # against a deterministic model (pixels) the seeded interval must clear its value
    assert od.compare(a, od.mean_ci([0.85], deterministic=True)) == "does not hold"
    assert od.compare(a, od.mean_ci([0.81], deterministic=True)) == "inconclusive"
    assert od.combine(["holds", "holds"]) == "holds"
    assert od.combine(["holds", "inconclusive"]) == "inconclusive"
    assert od.combine(["holds", "does not hold"]) == "does not hold"
    summary = {"knn-softmax/x": {"kml": a, "shaders": b, od.RANDOM: b,
                                 od.PIXELS: od.mean_ci([0.9], deterministic=True)}}
    claims = {c["name"]: c for c in od.check_claims(summary)}
    assert claims["kml helps (kNN)"]["verdict"] == "holds"
    assert claims["procedural > raw pixels (kNN)"]["verdict"] == "does not hold"
    # shaders ties random init, and two processes are not in this run
    assert claims["procedural > random init (kNN)"]["verdict"] == "inconclusive"
    assert "kml-mixup" in claims["procedural > random init (kNN)"]["note"]
    assert claims["NIGHTS above random init"]["verdict"] == "not tested"
    from procmem.core.paths import REPO_ROOT

    listed = (REPO_ROOT / "docs" / "results.md").read_text()
    for c in od.CLAIMS:  # the table docs/results.md lists: sourced, about known models
        assert f"| {c.name} | {c.statement} |" in listed
        assert ("Baradad" in c.source or "Rodriguez" in c.source) and c.family in (
            "knn", "linear", "nights", "camvid")
        assert set(c.better + c.worse) <= set(od.PROCESSES + od.BASELINES)


@pytest.fixture
def data_root(tmp_path, nights_like, camvid_like):
    """The shared-data layout with small sets made from sklearn's digits: three classes as
    CIFAR-10 (an ImageFolder), two as PneumoniaMNIST (a MedMNIST .npz); Imagenette is
    absent on purpose. Few classes keep the per-model confusion pictures cheap."""
    from PIL import Image

    from procmem.eval.datasets import sklearn_digits
    from tests.eval.conftest import write_npz

    root = tmp_path / "data"
    x, y = sklearn_digits()
    for i in np.flatnonzero(y < 3)[:90]:
        f = root / "cifar10" / "test" / str(y[i]) / f"{i}.png"
        f.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[i]).save(f)
    two = np.flatnonzero(y < 2)
    (root / "pneumoniamnist").mkdir()
    write_npz(root / "pneumoniamnist" / "pneumoniamnist.npz",
              **{f"{s}_images": x[two[j::3]] for j, s in enumerate(("train", "val", "test"))},
              **{f"{s}_labels": y[two[j::3], None].astype(np.uint8)
                 for j, s in enumerate(("train", "val", "test"))})
    os.symlink(nights_like, root / "nights")
    (root / "camvid").mkdir()
    os.symlink(camvid_like, root / "camvid" / "CamVid")
    return root


def test_tiny_run_writes_intervals_and_verdicts_and_resumes(tmp_path, data_root, capsys):
    out = tmp_path / "orderings"
    argv = ["eval", "orderings", "--out", str(out), "--process", "shaders", "--process", "kml",
            "--seed", "0", "--seed", "1", "--images", "8", "--res", "32", "--data-root",
            str(data_root), "--per-class", "8", "--quiet", *TINY]
    assert main(argv) == 0
    r = json.loads((out / "orderings.json").read_text())
    assert "imagenette" in r["skipped_datasets"] and "not found" in r["skipped_datasets"]["imagenette"]
    assert [t["steps"] for t in r["training"]] == [2] * 4 and not any(t["skipped"] for t in r["training"])
    m = r["metrics"]
    expected = {f"knn-{rule}/{d}" for rule in ("plurality", "distance", "softmax", "rank")
                for d in ("cifar10", "pneumoniamnist")}
    expected |= {"linear/cifar10", "linear/pneumoniamnist", "nights/2afc", "camvid/r2-pca3",
                 "camvid/in-context-miou", "camvid/knn-miou"}
    assert set(m) == expected
    for metric in expected:
        assert set(m[metric]) == {"shaders", "kml", od.RANDOM, od.PIXELS}
        s = m[metric]["kml"]
        assert s["n"] == 2 and s["low"] <= s["mean"] <= s["high"]
        assert s["half_width"] == pytest.approx(
            12.706204736 * np.std(s["values"], ddof=1) / math.sqrt(2), abs=1e-9)
        assert m[metric][od.PIXELS]["deterministic"] and m[metric][od.PIXELS]["n"] == 1
    assert m["knn-plurality/cifar10"][od.PIXELS]["mean"] > 0.5  # digits are easy in pixels
    assert {c["name"] for c in r["claims"]} == {c.name for c in od.CLAIMS}
    assert all(c["verdict"] in od.VERDICTS for c in r["claims"])
    assert {c["name"]: c["verdict"] for c in r["claims"]}["mixup helps kml (kNN)"] == "not tested"
    md = (out / "orderings.md").read_text()
    assert "95% CI" in md and "### knn-rank/cifar10" in md and "kml helps (kNN)" in md
    assert r["command"].startswith("procmem eval orderings --out")
    for fam in ("knn-softmax", "linear", "nights", "camvid"):
        assert (out / "pictures" / f"orderings-{fam}.png").is_file()
    ckpt = out / "train" / "kml-s1" / "checkpoint.pt"
    before = ckpt.stat().st_mtime_ns
    results_before = (out / "eval" / "s1" / "linear.json").stat().st_mtime_ns
    capsys.readouterr()

    assert main(argv) == 0  # the rerun resumes: nothing is trained or evaluated again
    again = json.loads((out / "orderings.json").read_text())
    assert all(t["skipped"] for t in again["training"])
    assert ckpt.stat().st_mtime_ns == before
    assert (out / "eval" / "s1" / "linear.json").stat().st_mtime_ns == results_before
    assert again["metrics"] == r["metrics"]
    assert "### Claims" in capsys.readouterr().out


def test_bad_options_are_named(tmp_path, data_root, capsys):
    base = ["eval", "orderings", "--out", str(tmp_path / "x"), "--data-root", str(data_root)]
    assert main(base + ["--process", "fractals"]) == 2
    assert "choose among shaders" in capsys.readouterr().err
    assert main(base + ["--seed", "a"]) == 2
    assert "seeds are integers" in capsys.readouterr().err
    assert main(["eval", "orderings", "--out", str(tmp_path / "y"),
                 "--data-root", str(tmp_path)]) == 2  # a folder with none of the sets
    assert "none of the evaluation sets" in capsys.readouterr().err
