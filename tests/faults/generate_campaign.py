"""SIGKILL trials of `procmem generate`: the generation part of issue 12's fault campaign.

Run: .venv/bin/python -m tests.faults.generate_campaign [--trials 20]
Scenarios: SIGKILL of only the job's process (1 worker, 2 workers) and of one pool worker,
each at a random moment of the run. A trial survives when no process of the job's tree is
alive 5 s after the kill, no shard or manifest entry is published after it, nothing moves once
the tree is gone, a killed worker ends the job with a clear error (no traceback), and rerunning
the same command leaves no temporary and a set byte-identical to a clean run. Prints
scenario | trials | survived | failed, then what failed (tests.faults.report); `make faults`
runs it with the other campaigns (tests.faults.campaign). docs/reliability.md records a run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.faults.proctree import REPO, gone, listing, marked, parent_of, start, visible
from tests.faults.report import Outcome, log, print_report

JOB = ["generate", "--process", "kml-mixup", "--images", "48", "--res", "32", "--shard-size", "4",
       "--programs", "library", "--frames-per-program", "4", "--seed", "9", "--quiet"]


# multiprocessing's own traceback of a child whose parent died while handing it its start data,
# before any procmem code runs in it: noise on stderr, not a fault (the child exits at once)
SPAWN_EOF_LAST = "EOFError: Ran out of input"
SPAWN_EOF_NOTE = "a render child killed while it started printed multiprocessing's EOFError traceback"
# name in --only, row of the table, whom to kill, pool workers
SCENARIOS = (("parent-1", "generate, parent, 1 worker", "parent", 1),
             ("parent-2", "generate, parent, 2 workers", "parent", 2),
             ("worker", "generate, one pool worker of 2", "worker", 2))


def spawn_eof(err: str) -> str:
    """The spawn bootstrap's traceback in `err`, or "" (see SPAWN_EOF_LAST)."""
    start = err.rfind("Traceback (most recent call last):", 0, err.find(SPAWN_EOF_LAST))
    if SPAWN_EOF_LAST not in err or start < 0 or "multiprocessing/spawn.py" not in err[start:]:
        return ""
    return err[start:err.find(SPAWN_EOF_LAST) + len(SPAWN_EOF_LAST)]


def cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def run_job(out: Path, workers: int) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "procmem", *JOB, "--workers", str(workers),
                    "--out", str(out)], cwd=REPO, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - t


def trial(scenario: str, workers: int, delay: float, work: Path, reference: dict,
          notes: list[str]) -> str | None:
    """One kill at `delay` s; None when the trial survived, else what went wrong (noise that
    is not a fault goes to `notes`)."""
    out, tag = work / uuid.uuid4().hex, uuid.uuid4().hex
    p = start([*JOB, "--workers", str(workers), "--out", str(out)], tag, stderr=subprocess.PIPE)
    time.sleep(delay)
    if p.poll() is not None:
        p.communicate()
        return "late"  # the job ended before the kill: not a trial
    victim = p.pid
    while scenario == "worker" and victim == p.pid:  # a pool worker (not the resource tracker)
        pool = [q for q in marked(tag) if parent_of(q) == p.pid and b"spawn_main" in cmdline(q)]
        if pool:
            victim = pool[0]
        elif p.poll() is not None:
            p.communicate()
            return "late"
    os.kill(victim, signal.SIGKILL)
    _, err = p.communicate(timeout=300)
    published = visible(out) if out.exists() else {}  # the parent is dead and reaped
    if not gone(tag):
        return f"processes alive 5 s after the kill: {marked(tag)}"
    at_death = listing(out) if out.exists() else {}
    time.sleep(1.0)
    if (listing(out) if out.exists() else {}) != at_death:
        return "files changed after the tree died"
    if scenario != "worker" and (visible(out) if out.exists() else {}) != published:
        return "a shard or manifest entry appeared after the parent's death"
    if scenario == "worker" and p.returncode != 0:
        noise = spawn_eof(err)
        rest = err.replace(noise, "") if noise else err
        if "a worker process died" not in rest or "Traceback" in rest:
            return f"killed worker: unclear error (exit {p.returncode}): {err.strip()[-300:]}"
        if noise:
            notes.append(SPAWN_EOF_NOTE)
    run_job(out, workers)
    if any(n.endswith(".tmp") for n in (x.name for x in out.iterdir())):
        return "temporaries left after the rerun"
    if visible(out) != reference:
        return "the rerun differs from a clean run"
    shutil.rmtree(out)
    return None


def run(trials: int, seed: int = 0, only: list[str] | None = None) -> list[Outcome]:
    """`trials` kills in each scenario (keys of SCENARIOS in `only`, default all)."""
    rng = random.Random(seed)
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ref_dir = work / "reference"
        run_job(ref_dir, 1)
        reference = visible(ref_dir)
        spans = {w: run_job(work / f"timing-{w}", w) for w in (1, 2)}  # a whole run's time
        for key, name, scenario, workers in SCENARIOS:
            if only and key not in only:
                continue
            o, t0 = Outcome(name, f"generate-{key}"), time.perf_counter()
            while o.trials < trials:
                delay = rng.uniform(0.1, 0.9) * spans[workers]
                t = time.perf_counter()
                problem = trial(scenario, workers, delay, work, reference, o.notes)
                log(f"{name}: kill at {delay:.2f} s: {problem or 'survived'} "
                    f"({time.perf_counter() - t:.1f} s)")
                if problem != "late":
                    o.record(problem, f"kill at {delay:.2f} s")
            o.seconds = time.perf_counter() - t0
            outcomes.append(o)
    return outcomes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20, help="kills per scenario (default 20)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    ap.add_argument("--only", choices=[s[0] for s in SCENARIOS], action="append",
                    help="run only these scenarios (default all)")
    args = ap.parse_args()
    sys.exit(print_report("generate fault campaign", run(args.trials, args.seed, args.only)))


if __name__ == "__main__":
    main()
