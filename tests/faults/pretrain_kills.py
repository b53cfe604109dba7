"""SIGKILL of `procmem pretrain` at random moments, then the same command again (issue 12's
pretrain kills; tests/faults/test_temporaries.py is the deterministic case in `make test`).

A tiny DINO run (ViT-Ti/8 at 32 px, 12 steps, a checkpoint every 2, one DataLoader worker) on
a tiny shard set is killed at a moment uniform in 10-90% of a clean run's time. A trial
survives when no process of the run's tree (the loader worker included) is alive 5 s after
the kill, the checkpoint left is absent or a readable one at a checkpoint step, the rerun
exits 0 at step 12, no temporary is left anywhere in the run directory, the metrics hold each
step 1-12 once with the clean run's schedule values, and the rows up to the checkpoint are
the killed run's own (it resumed, not restarted). Training itself is not bit-reproducible
(WebDataset's resampling is not seeded), so the final weights are not compared.
"""

from __future__ import annotations

import json
import os
import random
import signal
import tempfile
import time
import uuid
from pathlib import Path

from tests.faults.proctree import gone, marked, procmem, start
from tests.faults.report import Outcome, log
from tests.pretrain.tinydata import TINY_OVERRIDES, write_tiny_shards

STEPS, EVERY = 12, 2  # TINY_OVERRIDES: 3 epochs of 4 steps
OVERRIDES = [*TINY_OVERRIDES, f"run.checkpoint_every={EVERY}", "data.workers=1"]
SCHEDULE = ("lr", "wd", "momentum", "teacher_temp", "epoch")
NAME = (f"pretrain, SIGKILL at a random moment, rerun resumes ({STEPS} steps, a checkpoint "
        f"every {EVERY}, 1 loader worker)")


def command(data: Path, run: Path) -> list[str]:
    return ["pretrain", "--data", str(data), "--out", str(run), "--quiet", *OVERRIDES]


def metrics(run: Path) -> list[dict]:
    """The step rows of metrics.jsonl (a line cut by the kill is left out)."""
    rows = []
    path = run / "metrics.jsonl"
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return [r for r in rows if "lr" in r]


def checkpoint_step(run: Path) -> int | str:
    """The step of run/checkpoint.pt (0 when absent), or what is wrong with it."""
    import torch

    path = run / "checkpoint.pt"
    if not path.exists():
        return 0
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["step"])
    except Exception as e:  # a half-written checkpoint in place of the last good one
        return f"checkpoint.pt cannot be read after the kill ({type(e).__name__}: {e})"


def temporaries(run: Path) -> list[str]:
    return sorted(p.name for p in run.rglob("*.tmp"))


def trial(data: Path, run: Path, delay: float, reference: list[dict], notes: list[str]) -> str | None:
    """One kill at `delay` s and the rerun; None when it survived, "late" when the run ended
    before the kill (not a trial)."""
    tag = uuid.uuid4().hex
    p = start(command(data, run), tag)
    time.sleep(delay)
    if p.poll() is not None:
        return "late"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    if not gone(tag):
        return f"processes alive 5 s after the kill: {marked(tag)}"
    step = checkpoint_step(run)
    if isinstance(step, str):
        return step
    if step % EVERY and step != STEPS:
        return f"checkpoint at step {step}, not a checkpoint step"
    if step == STEPS:
        return "late"  # killed after the last checkpoint: nothing to resume
    notes.append(f"the rerun resumed from step {step}" if step else
                 "killed before the first checkpoint: the rerun started afresh")
    left = temporaries(run)
    if left:
        notes.append("the kill left a temporary, which the rerun swept")
    before = {r["step"]: r for r in metrics(run) if r["step"] <= step}
    res = procmem(command(data, run))
    if res.returncode != 0 or f"step {STEPS}," not in res.stdout:
        return f"rerun exit {res.returncode}: {(res.stdout + res.stderr).strip()[-300:]}"
    bad = []
    if temporaries(run):
        bad.append(f"temporaries left after the rerun: {temporaries(run)} (before it: {left})")
    if checkpoint_step(run) != STEPS:
        bad.append(f"final checkpoint at step {checkpoint_step(run)}, not {STEPS}")
    rows = metrics(run)
    if [r["step"] for r in rows] != list(range(1, STEPS + 1)):
        bad.append(f"metrics steps {[r['step'] for r in rows]}, not 1-{STEPS} once each")
    elif any(r[k] != ref[k] for r, ref in zip(rows, reference) for k in SCHEDULE):
        bad.append("schedule values differ from a clean run's")
    elif any(rows[s - 1] != before[s] for s in before):
        bad.append(f"rows up to the checkpoint (step {step}) were rewritten: it did not resume")
    return "; ".join(bad) or None


def run(trials: int, seed: int = 0) -> list[Outcome]:
    """`trials` killed runs, each resumed by rerunning the command."""
    rng = random.Random(seed)
    o, t0 = Outcome(NAME, "pretrain"), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_tiny_shards(Path(tmp) / "set")
        t = time.perf_counter()
        res = procmem(command(data, Path(tmp) / "clean"))
        if res.returncode != 0:
            raise RuntimeError(f"the clean pretrain run failed: {res.stderr[-1000:]}")
        span, reference = time.perf_counter() - t, metrics(Path(tmp) / "clean")
        while o.trials < trials:
            delay = rng.uniform(0.1, 0.9) * span
            run_dir = Path(tmp) / f"run{o.trials}-{delay:.2f}"
            t = time.perf_counter()
            problem = trial(data, run_dir, delay, reference, o.notes)
            log(f"pretrain: kill at {delay:.2f} s: {problem or 'survived'} "
                f"({time.perf_counter() - t:.1f} s)")
            if problem != "late":
                o.record(problem, f"kill at {delay:.2f} s")
    o.seconds = time.perf_counter() - t0
    return [o]
