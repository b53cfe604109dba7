"""Convnet backbones under DINO: BatchNorm in the head, SGD, train mode every step, patch grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from procmem.pretrain.config import ConfigError, load_config
from procmem.pretrain.model import DINOHead, build_student_teacher
from procmem.pretrain.train import Trainer
from tests.pretrain.test_training import _fixed_batch
from tests.pretrain.tinydata import TINY_OVERRIDES

CONVNEXT = ["model.arch=convnext_atto", "model.timm_kwargs={}", "crops.global_size=64",
            "crops.local_size=32"]


def test_head_bn_puts_batchnorm_after_every_hidden_linear(tiny_cfg):
    head = DINOHead(16, 32, hidden_dim=24, bottleneck_dim=8, nlayers=3, use_bn=True)
    kinds = [type(m).__name__ for m in head.mlp]
    assert kinds == ["Linear", "BatchNorm1d", "GELU", "Linear", "BatchNorm1d", "GELU", "Linear"]
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in DINOHead(16, 32).modules())
    student, teacher = build_student_teacher(load_config(None, TINY_OVERRIDES + ["model.head_bn=true"]))
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in teacher.head.modules()) == 2
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in build_student_teacher(tiny_cfg)[0].modules())


def test_sgd_is_dinos_momentum_sgd_and_a_wrong_name_is_refused(tiny_shards, tmp_path):
    cfg = load_config(None, TINY_OVERRIDES + ["optim.optimizer=sgd", "optim.warmup_epochs=0",
                                              "optim.lr=0.5", "schedule.epochs=10"])
    torch.manual_seed(0)
    tr = Trainer(cfg, str(tiny_shards), tmp_path / "run", progress=False)
    assert isinstance(tr.optimizer, torch.optim.SGD)
    assert all(g["momentum"] == 0.9 for g in tr.optimizer.param_groups)
    batch = _fixed_batch(cfg)
    losses = [tr.train_step(batch)[0] for _ in range(8)]
    assert all(np.isfinite(losses)) and np.mean(losses[-3:]) < np.mean(losses[:3]), losses
    assert isinstance(Trainer(load_config(None, TINY_OVERRIDES), str(tiny_shards), tmp_path / "r2",
                              progress=False).optimizer, torch.optim.AdamW)
    with pytest.raises(ConfigError, match="optim.optimizer must be adamw or sgd"):
        load_config(None, TINY_OVERRIDES + ["optim.optimizer=lamb"])


def test_a_teacher_set_to_eval_by_the_probe_is_back_in_train_mode_at_the_next_step(tiny_shards, tmp_path):
    """The online probe's Encoder calls eval() on the teacher; a BatchNorm teacher must keep
    updating its running statistics afterwards, as dino's teacher does."""
    cfg = load_config(None, TINY_OVERRIDES + ["model.head_bn=true"])
    tr = Trainer(cfg, str(tiny_shards), tmp_path / "run", progress=False)
    batch = _fixed_batch(cfg)
    tr.train_step(batch)
    bn = next(m for m in tr.teacher.head.modules() if isinstance(m, torch.nn.BatchNorm1d))
    tr.teacher.eval()
    tr.student.eval()
    before = bn.running_mean.clone()
    tr.train_step(batch)
    assert tr.teacher.training and tr.student.training
    assert not torch.equal(before, bn.running_mean)


def test_a_convnext_trains_exports_and_gives_its_feature_map_as_the_patch_grid(tiny_shards, tmp_path):
    from procmem.encoder.encoder import Encoder
    from procmem.pretrain.export import export_run
    from procmem.pretrain.train import pretrain

    cfg = load_config(None, TINY_OVERRIDES + CONVNEXT + ["schedule.max_steps=2"])
    pretrain(cfg, str(tiny_shards), tmp_path / "run", progress=False)
    export_run(tmp_path / "run", tmp_path / "enc")
    enc = Encoder.load(tmp_path / "enc")
    assert enc.patch_size == 32 and enc.image_size == 64 and enc.dim == 320
    images = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    assert enc.embed(images).shape == (3, 320)
    grid = enc.patch_features(images)
    assert grid.shape == (3, 2, 2, 320) and np.isfinite(grid).all()


def test_small_cpu_is_a_grid4_vit_of_3000_steps():
    from procmem.pretrain.config import total_steps

    cfg = load_config("small-cpu")
    assert cfg["model"]["arch"] == "vit_tiny_patch16_224" and cfg["model"]["readout"] == "grid4"
    assert total_steps(cfg) == 3000 and cfg["run"]["checkpoint_every"] == 100
    student, _ = build_student_teacher(cfg)
    with torch.no_grad():
        assert student([torch.zeros(2, 3, 32, 32)]).shape == (2, cfg["model"]["out_dim"])


@pytest.mark.parametrize("preset", ["demo-budget"])
def test_the_convnet_presets_load_and_their_crops_fit_a_stride_32_network(preset):
    from procmem.pretrain.config import total_steps

    cfg = load_config(preset)
    assert cfg["model"]["arch"] == "convnext_atto" and cfg["run"]["device"] == "cpu"
    assert total_steps(cfg) == {"demo-budget": 650}[preset]
    student, _ = build_student_teacher(cfg)
    with torch.no_grad():  # the smallest crop still has a cell left after the last downsampling
        out = student([torch.zeros(2, 3, cfg["crops"]["local_size"], cfg["crops"]["local_size"])])
    assert out.shape == (2, cfg["model"]["out_dim"])
    with pytest.raises(RuntimeError):  # 16 px would not: the reason locals are 32 px
        student([torch.zeros(2, 3, 16, 16)])
