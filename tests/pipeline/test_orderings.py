"""`procmem eval orderings`: a tiny real run (shaders rendered, DINO trained a few steps,
exported, evaluated) that resumes from its one resume file on a rerun, and reruns only the
stages whose key changed. The interval maths and verdicts: tests/eval/test_claims.py."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from procmem.cli import main
from procmem.eval import claims as cl

TINY = [  # the tiny-cpu preset shrunk to seconds: 32 px, one block, 2 steps
    "model.timm_kwargs={patch_size: 8, img_size: 32, depth: 1}", "model.out_dim=64",
    "model.hidden_dim=64", "model.bottleneck_dim=16", "crops.global_size=32",
    "crops.local_size=16", "crops.local_number=1", "optim.batch_size=4",
    "schedule.epochs=1", "schedule.steps_per_epoch=2", "data.workers=0",
    "data.shuffle_buffer=8", "run.threads=1", "run.device=cpu", "run.checkpoint_every=100",
]


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
        assert set(m[metric]) == {"shaders", "kml", cl.RANDOM, cl.PIXELS}
        s = m[metric]["kml"]
        assert s["n"] == 2 and s["low"] <= s["mean"] <= s["high"]
        assert s["half_width"] == pytest.approx(
            12.706204736 * np.std(s["values"], ddof=1) / math.sqrt(2), abs=1e-9)
        assert m[metric][cl.PIXELS]["deterministic"] and m[metric][cl.PIXELS]["n"] == 1
    assert m["knn-plurality/cifar10"][cl.PIXELS]["mean"] > 0.5  # digits are easy in pixels
    assert {c["name"] for c in r["claims"]} == {c.name for c in cl.CLAIMS}
    assert all(c["verdict"] in cl.VERDICTS for c in r["claims"])
    assert {c["name"]: c["verdict"] for c in r["claims"]}["mixup helps kml (kNN)"] == "not tested"
    md = (out / "orderings.md").read_text()
    assert "95% CI" in md and "### knn-rank/cifar10" in md and "kml helps (kNN)" in md
    assert "per seed (95% interval over its queries or images, n)" in md  # eval's own intervals
    assert len(r["seed_intervals"]["knn-rank/cifar10"]["kml"]) == 2
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
    # one resume file for the whole run, a stage per shard set, model and experiment
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*-state.json")) == [
        "orderings-state.json"]
    assert not list(out.rglob("orderings-timing.json")) and not list(out.rglob("orderings-done.json"))
    stages = json.loads((out / "orderings-state.json").read_text())["stages"]
    experiments = [f"eval/{d}/{e}" for d in ("s0", "s1", "pixels")
                   for e in ("knn", "linear", "nights", "segment")]
    assert sorted(stages) == sorted(["shards/shaders", "shards/kml", *experiments]
                                    + [f"train/{p}-s{s}" for p in ("shaders", "kml") for s in (0, 1)])

    # fewer images per class: the data's key changes, so every experiment (and nothing
    # else) runs again, and the cached features of the old subset are not reused
    i = argv.index("--per-class")
    fewer = argv[:i + 1] + ["6"] + argv[i + 2:]
    assert main(fewer) == 0
    third = json.loads((out / "orderings.json").read_text())
    assert all(t["skipped"] for t in third["training"]) and ckpt.stat().st_mtime_ns == before
    assert (out / "eval" / "s1" / "linear.json").stat().st_mtime_ns != results_before
    knn = json.loads((out / "eval" / "s0" / "knn.json").read_text())["results"]["kml"]["cifar10"]
    assert knn["memory_size"] == 3 * 6  # three classes, six memory images each
    changed = json.loads((out / "orderings-state.json").read_text())["stages"]
    rerun = {n for n in stages if n.endswith(("/knn", "/linear"))}  # the classification sets
    assert {n for n in stages if changed[n] != stages[n]} == rerun

    # a run directory from before the one resume file: each model's record lay beside it
    for t in third["training"]:
        record = {k: v for k, v in t.items() if k != "skipped"}
        (out / "train" / f"{t['process']}-s{t['seed']}" / "orderings-timing.json").write_text(
            json.dumps(record))
    (out / "orderings-state.json").unlink()
    assert main(fewer) == 0  # its models and their records are taken over, not trained again
    fourth = json.loads((out / "orderings.json").read_text())
    assert ckpt.stat().st_mtime_ns == before
    assert [dict(t, skipped=True) for t in fourth["training"]] == third["training"]
    assert fourth["metrics"] == third["metrics"]


def test_bad_options_are_named(tmp_path, data_root, capsys):
    base = ["eval", "orderings", "--out", str(tmp_path / "x"), "--data-root", str(data_root)]
    assert main(base + ["--process", "fractals"]) == 2
    assert "choose among shaders" in capsys.readouterr().err
    assert main(base + ["--seed", "a"]) == 2
    assert "seeds are integers" in capsys.readouterr().err
    assert main(["eval", "orderings", "--out", str(tmp_path / "y"),
                 "--data-root", str(tmp_path)]) == 2  # a folder with none of the sets
    assert "none of the evaluation sets" in capsys.readouterr().err
