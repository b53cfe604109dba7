"""How the step runs (pretrain.runtime): threads from idle cores, CPU bf16 within its stated
tolerance, the unfused attention path, and torch.compile falling back to eager."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from procmem.pretrain.config import ConfigError, load_config
from procmem.pretrain.runtime import (
    CompileError,
    CompileFallbackWarning,
    choose_threads,
    cpu_bf16_wanted,
    idle_cores,
    unfuse_attention,
)
from procmem.pretrain.train import Trainer, pretrain
from tests.pretrain.test_training import _fixed_batch
from tests.pretrain.tinydata import TINY_OVERRIDES

# The largest gap between the fp32 and the bf16-autocast CPU step's losses over the first
# steps on the same batches and seeds (losses ~5.5; measured gaps ~1e-3 on tiny-cpu's
# network and the tiny test one alike): bf16 keeps 8 bits of mantissa in the matmuls only.
BF16_LOSS_TOLERANCE = 0.02


def _trajectory(cfg, shards, out, steps=4):
    tr = Trainer(cfg, str(shards), out, progress=False)
    batches = [_fixed_batch(cfg, seed=s) for s in range(2)]
    return tr, [tr.train_step(batches[i % 2])[0] for i in range(steps)]


def test_threads_come_from_the_idle_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert choose_threads(3, cores=2, load=9.0) == 3  # a number is taken as given
    assert idle_cores(cores=2, load=0.3) == 2 and choose_threads(0, cores=2, load=0.3) == 2
    assert choose_threads(0, cores=2, load=0.7) == 1   # 1.3 cores idle: one thread
    assert choose_threads(0, cores=2, load=4.5) == 1   # a busy machine: still one
    assert choose_threads(0, local_world=2, cores=16, load=4.0) == 6
    monkeypatch.setenv("OMP_NUM_THREADS", "3")         # torchrun's choice wins
    assert choose_threads(0, cores=16, load=0.0) == 3


def test_run_options_are_checked():
    with pytest.raises(ConfigError, match="run.cpu_precision must be fp32, bf16 or auto"):
        load_config(None, TINY_OVERRIDES + ["run.cpu_precision=half"])
    with pytest.raises(ConfigError, match="run.threads must be >= 0"):
        load_config(None, TINY_OVERRIDES + ["run.threads=-2"])
    assert cpu_bf16_wanted("bf16") and not cpu_bf16_wanted("fp32")
    assert cpu_bf16_wanted("auto") == torch.cpu._is_amx_tile_supported()


def test_unfused_attention_computes_the_same_block_in_fp32():
    from procmem.encoder.backbone import create_backbone

    torch.manual_seed(0)
    net = create_backbone("vit_tiny_patch16_224", patch_size=8, img_size=32, depth=2).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        fused = net(x)
        assert unfuse_attention(net) == 2
        assert not any(getattr(m, "fused_attn", False) for m in net.modules())
        torch.testing.assert_close(net(x), fused, rtol=1e-5, atol=1e-5)


def test_cpu_bf16_step_stays_within_its_tolerance_of_fp32(tiny_shards, tmp_path):
    base = TINY_OVERRIDES + ["optim.warmup_epochs=0", "optim.lr=0.01", "loss.koleo_weight=0.1"]
    _, fp32 = _trajectory(load_config(None, base), tiny_shards, tmp_path / "fp32")
    tr, bf16 = _trajectory(load_config(None, base + ["run.cpu_precision=bf16"]), tiny_shards,
                           tmp_path / "bf16")
    assert tr.execution()["precision"] == "bf16"
    assert not any(getattr(m, "fused_attn", False) for m in tr.student.modules())
    gaps = np.abs(np.subtract(bf16, fp32))
    assert gaps.max() < BF16_LOSS_TOLERANCE, (fp32, bf16)
    assert gaps.max() > 0  # the arithmetic did change: bf16 really ran


def test_same_command_same_losses_bit_for_bit(tiny_shards, tmp_path):
    """Where the arithmetic is unchanged the losses are identical: the same command twice,
    and cpu_precision=auto on a CPU without AMX (the fp32 step)."""
    base = TINY_OVERRIDES + ["optim.warmup_epochs=0", "optim.lr=0.01"]
    _, ref = _trajectory(load_config(None, base), tiny_shards, tmp_path / "a")
    _, again = _trajectory(load_config(None, base), tiny_shards, tmp_path / "b")
    assert again == ref
    if not torch.cpu._is_amx_tile_supported():
        _, auto = _trajectory(load_config(None, base + ["run.cpu_precision=auto"]), tiny_shards,
                              tmp_path / "c")
        assert auto == ref


def test_a_compile_that_cannot_build_trains_eager_with_a_warning(tiny_shards, tmp_path,
                                                                  monkeypatch):
    """No C++ compiler for inductor: a warning, then the eager step, losses unchanged."""
    import torch._inductor.config as inductor_config

    base = TINY_OVERRIDES + ["optim.warmup_epochs=0", "optim.lr=0.01"]
    _, eager = _trajectory(load_config(None, base), tiny_shards, tmp_path / "eager", steps=2)
    monkeypatch.setattr(inductor_config.cpp, "cxx", ("/nonexistent/g++",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tr, losses = _trajectory(load_config(None, base + ["run.compile=inductor"]), tiny_shards,
                                 tmp_path / "compiled", steps=2)
    msgs = [str(w.message) for w in caught if issubclass(w.category, CompileFallbackWarning)]
    assert msgs and "run.compile=inductor cannot build on this machine" in msgs[0]
    assert not tr.compiled and losses == eager
    with pytest.raises(CompileError, match="run.compile='inductr' is not a torch.compile backend"):
        Trainer(load_config(None, base + ["run.compile=inductr"]), str(tiny_shards),
                tmp_path / "bad", progress=False)


def test_run_json_says_how_the_step_ran(tiny_shards, tmp_path):
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=1", "run.threads=0"])
    pretrain(cfg, str(tiny_shards), tmp_path / "run", progress=False)
    ex = json.loads((tmp_path / "run" / "run.json").read_text())["execution"]
    assert ex["device"] == "cpu" and ex["precision"] == "fp32" and ex["compiled"] == ""
    assert 1 <= ex["threads"] <= len(__import__("os").sched_getaffinity(0))
