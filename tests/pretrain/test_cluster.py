"""Runs on shared machines: a GPU recipe is refused on a machine without a GPU unless asked,
and a job with its stderr in a file (a Slurm log) writes plain progress lines while it runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import torch

from procmem.cli import main
from tests.pretrain.tinydata import TINY_OVERRIDES

ON_ANY_DEVICE = [o for o in TINY_OVERRIDES if not o.startswith("run.device=")]


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("preset", [["--preset", "paper-vits16"], []], ids=["paper-vits16", "defaults"])
def test_a_gpu_recipe_is_refused_without_a_gpu_naming_tiny_cpu(preset, no_gpu, tiny_shards,
                                                               tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["pretrain", *preset, "--data", str(tiny_shards), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "no CUDA device is visible" in err and "GPU recipe" in err
    assert "--preset tiny-cpu" in err and "--allow-cpu" in err
    assert not run.exists()  # refused before anything was built or written


def test_allow_cpu_runs_a_gpu_recipe_on_the_cpu(no_gpu, tiny_shards, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["pretrain", "--preset", "paper-vits16", "--allow-cpu", "--data", str(tiny_shards),
                 "--out", str(run), "--quiet", *ON_ANY_DEVICE, "schedule.max_steps=1"]) == 0
    assert "step 1, final loss" in capsys.readouterr().out
    assert "device: cpu" in (run / "config.yaml").read_text()


def test_a_cpu_preset_and_auto_need_no_flag(no_gpu):
    from procmem.pretrain.config import load_config
    from procmem.pretrain.train import setup_distributed

    assert load_config("tiny-cpu")["run"]["device"] == "cpu"
    assert setup_distributed("auto").device.type == "cpu"


def test_a_job_logging_to_a_file_prints_progress_lines_while_it_runs(tiny_shards, tmp_path):
    log = tmp_path / "slurm-123.out"
    env = {k: v for k, v in os.environ.items() if k != "PROCMEM_PROGRESS"}
    env |= {"PROCMEM_PROGRESS_EVERY": "0.5", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "procmem", "pretrain", "--data", str(tiny_shards),
           "--out", str(tmp_path / "run"), *TINY_OVERRIDES, "schedule.max_steps=100000",
           "schedule.epochs=100000"]
    line = re.compile(r"^DINO: (\d+)/100000 step \(\d+%\), [\d.]+ step/s, ETA \S+, loss=[\d.]+",
                      re.M)
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                env=env)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and proc.poll() is None:
                if len(line.findall(log.read_text())) >= 2:
                    break
                time.sleep(0.2)
            running = proc.poll() is None
        finally:
            proc.kill()
            proc.wait()
    text = log.read_text()
    steps = [int(n) for n in line.findall(text)]
    assert running and len(steps) >= 2, text[-2000:]  # two lines, long before the run's end
    assert steps == sorted(steps) and steps[-1] < 100000
    assert "\r" not in text  # plain lines, no terminal bar
