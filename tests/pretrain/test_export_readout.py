"""An export carries its run's read-out (model.readout) or the one `--readout` asks for."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from procmem.encoder.encoder import Encoder
from procmem.encoder.errors import EncoderError
from procmem.encoder.spec import make_encoder
from procmem.pretrain.config import ConfigError, load_config
from procmem.pretrain.export import export_run
from procmem.pretrain.train import pretrain
from tests.pretrain.tinydata import TINY_OVERRIDES


def test_export_writes_the_runs_readout_or_the_one_asked_for_and_random_like_follows(tiny_shards,
                                                                                    tmp_path):
    with pytest.raises(ConfigError, match="model.readout must be cls or grid2 or grid4"):
        load_config(None, TINY_OVERRIDES + ["model.readout=mean"])
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=1", "model.readout=grid2"])
    pretrain(cfg, str(tiny_shards), tmp_path / "run", progress=False)
    export_run(tmp_path / "run", tmp_path / "grid")
    export_run(tmp_path / "run", tmp_path / "cls", readout="cls")
    grid, cls_enc = Encoder.load(tmp_path / "grid"), Encoder.load(tmp_path / "cls")
    assert grid.readout == "grid2" and cls_enc.readout == "cls" and "readout" not in cls_enc.meta
    assert grid.dim == 5 * cls_enc.dim
    sha = json.loads((tmp_path / "grid.json").read_text())["weights_sha256"]
    assert cls_enc.fingerprint == sha and grid.fingerprint == sha + ":readout=grid2"
    images = np.random.default_rng(0).integers(0, 256, (2, 40, 40, 3), np.uint8)
    g, c = grid.embed(images), cls_enc.embed(images)
    assert np.allclose(g[:, : cls_enc.dim] * np.sqrt(5), c, atol=1e-4)  # same weights inside
    baseline = make_encoder(f"random:{tmp_path / 'grid'}:3")
    assert baseline.readout == "grid2" and baseline.dim == grid.dim
    export_run(tmp_path / "run", tmp_path / "big", patch_image_size=64)
    big = Encoder.load(tmp_path / "big")
    assert big.patch_image_size == 64 and big.patch_features(images).shape[1:3] == (8, 8)
    assert grid.patch_features(images).shape[1:3] == (4, 4)  # 32 px / patch 8
    assert make_encoder(f"random:{tmp_path / 'big'}:3").patch_image_size == 64
    export_run(tmp_path / "run", tmp_path / "half", fp16=True)
    half = Encoder.load(tmp_path / "half")
    size = {n: (tmp_path / f"{n}.safetensors").stat().st_size for n in ("half", "grid")}
    assert size["half"] < 0.6 * size["grid"]
    assert json.loads((tmp_path / "half.json").read_text())["weights_dtype"] == "float16"
    assert next(half.model.parameters()).dtype == torch.float32  # loaded into float32
    assert np.abs(half.embed(images) - g).max() < 1e-2

    meta = json.loads((tmp_path / "grid.json").read_text())
    (tmp_path / "bad.safetensors").write_bytes((tmp_path / "grid.safetensors").read_bytes())
    (tmp_path / "bad.json").write_text(json.dumps({**meta, "readout": "grid9"}))
    with pytest.raises(EncoderError, match="unknown read-out 'grid9'"):
        Encoder.load(tmp_path / "bad")
