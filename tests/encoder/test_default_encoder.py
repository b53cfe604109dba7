"""`procmem:default`: the encoder shipped inside procmem, or a clear error where none is."""

from __future__ import annotations

import json

import numpy as np
import pytest

from procmem.encoder import spec
from procmem.encoder.encoder import Encoder
from procmem.encoder.errors import EncoderError


def _export(path):
    from safetensors.torch import save_file

    enc = Encoder.random("convnext_atto", 64, seed=5)
    save_file({k: v.contiguous() for k, v in enc.model.state_dict().items()},
              str(path.with_name(path.name + ".safetensors")))
    path.with_name(path.name + ".json").write_text(json.dumps(Encoder.describe(
        enc.model, "convnext_atto", {}, 64, readout="grid2")))
    return enc


def test_procmem_default_names_the_shipped_export_and_random_default_its_init(tmp_path, monkeypatch):
    monkeypatch.setattr(spec, "SHIPPED", tmp_path)
    made = _export(tmp_path / "default")
    enc = spec.make_encoder("procmem:default")
    assert enc.name == "procmem-default" and enc.readout == "grid2" and enc.dim == 1600
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), np.uint8)
    made.readout, made.dim = "grid2", 1600
    assert np.allclose(enc.embed(images), made.embed(images), atol=1e-5)
    base = spec.make_encoder("random:default:2")
    assert base.readout == "grid2" and base.fingerprint.startswith("random:convnext_atto:64:2")


def test_without_a_shipped_encoder_procmem_default_says_why_and_what_to_give(tmp_path, monkeypatch):
    monkeypatch.setattr(spec, "SHIPPED", tmp_path / "none")
    for s in ("procmem:default", "random:default:0"):
        with pytest.raises(EncoderError, match="ships no default encoder.*procmem:./default"):
            spec.make_encoder(s)


def test_an_export_of_your_own_named_default_is_reached_by_its_path(tmp_path, monkeypatch):
    monkeypatch.setattr(spec, "SHIPPED", tmp_path / "none")
    monkeypatch.chdir(tmp_path)
    _export(tmp_path / "default")
    assert spec.make_encoder("procmem:./default").dim == 1600


def test_the_demo_compares_the_shipped_encoder_only_where_one_is_shipped(tmp_path, monkeypatch):
    from procmem.pipeline.demo_memory import Encoders, encoder_roles

    monkeypatch.setattr(spec, "SHIPPED", tmp_path / "none")
    assert encoder_roles() == ("pretrained", "random init", "raw pixels")
    monkeypatch.setattr(spec, "SHIPPED", tmp_path)
    _export(tmp_path / "default")
    assert encoder_roles() == ("pretrained", "procmem:default", "random init", "raw pixels")
    assert Encoders("unused").get("procmem:default").name == "procmem-default"


def test_a_shipped_default_is_small_fp16_remakeable_and_measured_to_beat_pixels():
    """The shipped encoder (if this version ships one) is what the README says: fp16
    safetensors of at most 16 MB, named by its data's manifest hash and the command that
    remakes it (no local path), and it carries the measurement that justified shipping it:
    the paired T - P interval above 0 on CIFAR-10 and Imagenette kNN."""
    from procmem.encoder.encoder import encoder_files

    weights, meta_path = encoder_files(spec.shipped_default())
    if not weights.is_file():
        pytest.skip("this version ships no procmem:default (docs/benchmarks.md says why)")
    assert weights.stat().st_size <= 16 * 2**20
    meta = json.loads(meta_path.read_text())
    assert meta["weights_dtype"] == "float16"
    learned = meta["learned_from"]
    assert learned["kind"] == "shipped" or learned["kind"] == "shards"
    assert len(learned["manifest_sha256"]) == 64 and learned["generate"]["command"].startswith(
        "procmem generate ")
    assert "/" not in learned["dir_name"] and "/work" not in json.dumps(meta)
    for name in ("cifar10", "imagenette"):
        against_pixels = meta["measured"]["knn"][name]["T-P"]
        assert against_pixels["low"] > 0 and against_pixels["verdict"] == "better", name
    enc = spec.make_encoder("procmem:default")
    images = np.random.default_rng(0).integers(0, 256, (2, 40, 40, 3), np.uint8)
    assert enc.embed(images).shape == (2, enc.dim) and enc.name == "procmem-default"
