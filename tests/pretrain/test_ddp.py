"""Two-process DDP on CPU (gloo) through torchrun, the way a multi-GPU run is launched."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import torch.distributed as dist

from procmem.pretrain.metrics import read_metrics
from tests.pretrain.tinydata import TINY_OVERRIDES


@pytest.mark.skipif(not dist.is_gloo_available(), reason="torch built without gloo")
def test_torchrun_two_processes_gloo(tiny_shards, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "procmem", "pretrain", "--data", str(tiny_shards), "--out", str(run),
           "--quiet", *TINY_OVERRIDES, "schedule.max_steps=3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # each rank has its own last loss; only rank 0 reports
    assert len(re.findall(r"final loss", proc.stdout)) == 1, proc.stdout
    info = json.loads((run / "run.json").read_text())
    assert info["world_size"] == 2
    rows = [r for r in read_metrics(run) if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2, 3]
    # global batch 4 = 2 per process; the lr scales with the global batch
    assert rows[-1]["lr"] > 0
