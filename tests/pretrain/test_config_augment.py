"""Config layering and checking; multi-crop augmentation and collation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pretrain.augment import MultiCrop, collate_crops, normalize
from pretrain.config import ConfigError, load_config


def test_layers_defaults_preset_overrides(tmp_path):
    cfg = load_config("tiny-cpu", ["optim.lr=1e-3", "crops.local_number=3",
                                   "model.timm_kwargs.depth=4", "run.bf16=false"])
    assert cfg["model"]["arch"] == "vit_tiny_patch16_224"           # preset
    assert cfg["loss"]["student_temp"] == 0.1                       # default kept
    assert cfg["optim"]["lr"] == 1e-3 and isinstance(cfg["optim"]["lr"], float)
    assert cfg["crops"]["local_number"] == 3 and cfg["run"]["bf16"] is False
    assert cfg["model"]["timm_kwargs"] == {"patch_size": 8, "img_size": 64, "depth": 4}
    own = tmp_path / "mine.yaml"
    own.write_text("optim:\n  batch_size: 8\n")
    assert load_config(str(own))["optim"]["batch_size"] == 8


@pytest.mark.parametrize("override, words", [
    (["optim.lrr=1"], "did you mean lr"),
    (["optim.batch_size=big"], "optim.batch_size must be a int"),
    (["nonsense"], "section.key=value"),
    (["crops.local_scale=[0.5, 0.1]"], "crop scales"),
])
def test_bad_overrides_name_the_key_and_fix(override, words):
    with pytest.raises(ConfigError, match=words):
        load_config(None, override)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="paper-vits16"):
        load_config("no-such-preset")


def test_multicrop_sizes_and_collation(tiny_cfg):
    from tests.pretrain.tinydata import synthetic_image

    rng = np.random.default_rng(0)
    mc = MultiCrop(tiny_cfg)
    samples = [mc(torch.from_numpy(synthetic_image(rng)).permute(2, 0, 1)) for _ in range(3)]
    assert len(samples[0]) == 2 + tiny_cfg["crops"]["local_number"]
    assert all(c.dtype == torch.uint8 for c in samples[0])
    globals_, locals_ = collate_crops(samples)
    assert globals_.shape == (2 * 3, 3, 32, 32) and locals_.shape == (2 * 3, 3, 16, 16)
    assert torch.equal(globals_[3], samples[0][1])  # view-major: view 1 of sample 0 at row B
    x = normalize(globals_, tiny_cfg["augment"]["mean"], tiny_cfg["augment"]["std"])
    assert x.dtype == torch.float32 and -3 < x.mean() < 3
    # the two global views differ (random crops/jitter), as multi-crop needs
    assert not torch.equal(samples[0][0], samples[0][1])


def test_shard_urls_are_the_manifests_not_every_tar(tmp_path):
    from pretrain.data import shard_urls
    from tests.pretrain.tinydata import write_tiny_shards

    write_tiny_shards(tmp_path, shards=2, per_shard=2)
    listed = shard_urls(tmp_path)
    (tmp_path / "stray-000099.tar").write_bytes(b"not a shard of this set")
    assert shard_urls(tmp_path) == listed and len(listed) == 2
