"""Killed writers leave temporaries; the next run sweeps them (issue 12, item 2)."""

from __future__ import annotations

import subprocess
import sys

from procmem.core.atomic import sweep_temporaries, temporaries
from procmem.pretrain.config import load_config
from procmem.pretrain.train import pretrain
from tests.pretrain.tinydata import TINY_OVERRIDES

KILLED_WRITER = """
import os, signal, sys
from procmem.core.atomic import atomic_open
with atomic_open(sys.argv[1]) as f:
    f.write(b"x" * 100000)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_mid_write_leaves_a_temporary_that_the_sweep_removes(tmp_path):
    target = tmp_path / "checkpoint.pt"
    res = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)])
    assert res.returncode == -9
    assert not target.exists() and len(temporaries(target)) == 1
    (tmp_path / "keep.txt").write_text("not a temporary")
    assert sweep_temporaries(tmp_path) == 1
    assert temporaries(target) == [] and (tmp_path / "keep.txt").is_file()


def test_resuming_a_run_sweeps_the_half_written_checkpoints_of_a_killed_one(tiny_shards, tmp_path):
    run = tmp_path / "run"
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=2"])
    pretrain(cfg, str(tiny_shards), run, progress=False)
    stale = [run / ".checkpoint.pt.k1ll3d.tmp", run / ".config.yaml.abc.tmp"]
    for s in stale:
        s.write_bytes(b"half a checkpoint")
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=3"])
    assert pretrain(cfg, str(tiny_shards), run, progress=False)["step"] == 3
    assert not any(s.exists() for s in stale)
