"""An export names its training data by manifest hash and generate command, never by a local
path: the command remakes the same shard set, and the audit runs on whichever folder is given."""

from __future__ import annotations

import json
import shlex
import shutil

import pytest

from procmem.core.hashing import sha256_file

pytest.importorskip("procmem.pretrain.data")  # torchvision before any EGL context (see eval tests)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A real tiny `procmem generate`, a 2-step pretrain on it and its export."""
    from procmem.cli import main
    from procmem.pretrain.config import load_config
    from procmem.pretrain.train import pretrain
    from tests.pretrain.tinydata import TINY_OVERRIDES

    root = tmp_path_factory.mktemp("shipped")
    shards = root / "kml32"
    assert main(["generate", "--process", "kml-mixup", "--res", "32", "--images", "4",
                 "--shard-size", "2", "--frames-per-program", "2", "--out", str(shards),
                 "--quiet"]) == 0
    pretrain(load_config(None, TINY_OVERRIDES + ["schedule.max_steps=2"]), str(shards),
             root / "run", progress=False)
    assert main(["pretrain", "export", str(root / "run"), "--out", str(root / "enc")]) == 0
    return root, shards


def test_the_export_names_its_data_by_hash_and_command_not_by_path(shipped):
    from procmem.cli import build_parser
    from procmem.cli.generate import config_from_args

    root, shards = shipped
    text = (root / "enc.json").read_text()
    assert str(shards) not in text and str(shards.resolve()) not in text
    prov = json.loads(text)["learned_from"]
    manifest = json.loads((shards / "manifest.json").read_text())
    assert prov["manifest_sha256"] == sha256_file(shards / "manifest.json")
    assert prov["dir_name"] == "kml32" and prov["generate"]["config"] == manifest["config"]
    words = shlex.split(prov["generate"]["command"])
    assert words[:2] == ["procmem", "generate"] and words[-2:] == ["--out", "kml32"]
    args = build_parser().parse_args(words[1:])
    assert config_from_args(args).to_json() == manifest["config"]  # the command is the config


def test_the_command_remakes_the_shards_and_the_audit_passes_on_them(shipped, tmp_path):
    from procmem.cli import main
    from procmem.eval.compartment import CompartmentError, audit_export

    root, shards = shipped
    prov = json.loads((root / "enc.json").read_text())["learned_from"]
    remade = tmp_path / "remade"
    words = shlex.split(prov["generate"]["command"])
    assert main(words[1:-1] + [str(remade), "--quiet"]) == 0
    assert sha256_file(remade / "manifest.json") == prov["manifest_sha256"]
    assert main(["eval", "compartment", str(root / "enc.json"), "--shards", str(remade),
                 "--rebuild", "1", "--out", str(tmp_path / "audit"), "--quiet"]) == 0
    audit = json.loads((tmp_path / "audit" / "compartment.json").read_text())
    assert audit["verdict"] == "pass" and audit["samples"] == 4
    assert audit["rebuilt"]["checked"] == audit["rebuilt"]["exact"] == 1
    # no --shards: the name hint finds the folder beside the export, checked by its hash ...
    assert audit_export(root / "enc.json", progress=False)["shard_dir"] == str(shards)
    # ... and where it names nothing, the error says what to pass and how to remake it
    (tmp_path / "lone").mkdir()
    shutil.copy(root / "enc.json", tmp_path / "lone" / "enc.json")
    with pytest.raises(CompartmentError, match=r"--shards DIR \(remake it with: procmem generate"):
        audit_export(tmp_path / "lone" / "enc.json", progress=False)


def test_a_folder_with_other_shards_fails_the_hash_check(shipped, tiny_shards):
    from procmem.eval.compartment import audit_export

    root, _ = shipped
    r = audit_export(root / "enc.json", tiny_shards, progress=False)
    assert r["verdict"] == "fail"
    assert any("differs from the export's" in v for v in r["first_violations"])


def test_an_export_after_the_shards_are_gone_names_the_hash_only(shipped, tmp_path):
    from procmem.pretrain.export import ShardsGoneWarning, export_run

    root, shards = shipped
    moved = tmp_path / "moved"
    shutil.move(shards, moved)
    try:
        with pytest.warns(ShardsGoneWarning, match="names its data by manifest sha256 only"):
            _, meta_path = export_run(root / "run", tmp_path / "enc")
    finally:
        shutil.move(moved, shards)
    prov = json.loads(meta_path.read_text())["learned_from"]
    assert prov["generate"] is None and prov["manifest_sha256"] == sha256_file(shards / "manifest.json")


@pytest.fixture(scope="module")
def digits_set(tmp_path_factory):
    """sklearn digits as a MedMNIST-style npz (a set `eval knn` reads): 400 train, 100 test."""
    import numpy as np

    from procmem.eval.datasets import sklearn_digits
    from tests.eval.conftest import write_npz

    x, y = sklearn_digits()
    y = y.astype(np.uint8)[:, None]
    return str(write_npz(tmp_path_factory.mktemp("digits") / "digits.npz",
                         train_images=x[:400], train_labels=y[:400],
                         test_images=x[400:500], test_labels=y[400:500]))


def test_ship_refuses_an_encoder_that_does_not_beat_raw_pixels_and_installs_nothing(
        shipped, digits_set, tmp_path):
    from procmem.pipeline.ship import ShipRefused, ship

    root, _ = shipped
    target = tmp_path / "shipped" / "default"
    with pytest.raises(ShipRefused, match=r"must beat raw pixels on digits.*digits: T \d.*, R \d.*, "
                                          r"P \d.*T-R [+-]\d.*T-P [+-]\d"):
        ship(root / "run", "grid2", seed=0, target=target, sets=(digits_set,))
    assert not target.parent.exists()


def test_ship_installs_a_qualifying_encoder_with_its_measurement_and_no_local_path(
        shipped, tmp_path, monkeypatch):
    from procmem.encoder.encoder import Encoder
    from procmem.pipeline import ship as ship_module

    root, shards = shipped
    better = {"diff": 0.05, "low": 0.02, "high": 0.08, "verdict": "better", "n": 100}
    cell = {"value": 0.5, "low": 0.4, "high": 0.6, "n": 100}
    seen = {}

    def judged(export, seed, data_root, cache, out, sets):  # the verdict under test is the gate
        seen["dim"] = Encoder.load(export).dim
        return {s: {"T": cell, "R": cell, "P": cell, "T-R": better, "T-P": better} for s in sets}

    monkeypatch.setattr(ship_module, "judge", judged)
    target = tmp_path / "shipped" / "default"
    ship_module.ship(root / "run", "grid2", seed=0, target=target, sets=("cifar10", "imagenette"))
    meta = json.loads((tmp_path / "shipped" / "default.json").read_text())
    assert meta["weights_dtype"] == "float16" and meta["readout"] == "grid2"
    assert meta["measured"]["knn"]["imagenette"]["T-P"]["verdict"] == "better"
    assert str(shards.parent) not in json.dumps(meta) and meta["learned_from"]["generate"]["command"]
    assert Encoder.load(target).dim == seen["dim"] == 5 * 192


def test_a_probe_folder_is_recorded_relative_to_the_data_root(tmp_path):
    from procmem.pipeline.ship import _portable_probe

    (tmp_path / "data" / "cifar10" / "test").mkdir(parents=True)
    meta = {"training_config": {"probe": {"data": str(tmp_path / "data" / "cifar10" / "test")}}}
    _portable_probe(meta, tmp_path / "data")
    assert meta["training_config"]["probe"]["data"] == "<data root>/cifar10/test"
