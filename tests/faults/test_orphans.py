"""A SIGKILLed parent leaves no writer behind (issue 12, finding 6).

Every process of the job's tree is found by an environment marker it inherits (so also after
it is re-parented to init); after the kill none may be alive a few seconds later, and the
shard directory may not change any more.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from procmem.generators import jobs
from procmem.generators import shards as sh
from procmem.generators.lifeline import ParentGone
from tests.faults.proctree import REPO, gone, listing, marked, parent_of, start, state, visible

# 24 shards of 4 images at 32 px: ~8 s with two workers here, long enough to kill mid-way
JOB = ["generate", "--process", "kml-mixup", "--images", "96", "--res", "32", "--shard-size", "4",
       "--programs", "library", "--frames-per-program", "4", "--seed", "5"]


def wait_for_first_shard(out: Path, p: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and p.poll() is None:
        try:
            if json.loads((out / sh.MANIFEST).read_text())["shards"]:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    raise AssertionError("the job recorded no shard in time")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("workers", ["2", "1"])
def test_sigkill_of_the_parent_ends_its_tree_and_its_writes(tmp_path, workers):
    out, tag = tmp_path / "shards", uuid.uuid4().hex
    p = start([*JOB, "--workers", workers, "--out", str(out)], tag)
    wait_for_first_shard(out, p)
    tree = marked(tag)
    # the job, its render children (and, with 2 workers, the two pool workers)
    assert len(tree) >= (5 if workers == "2" else 2), tree
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    published = visible(out)  # shards and manifest: nothing may be published from now on
    assert len(sh.read_manifest(out)["shards"]) < 24, "the job finished before the kill"
    assert gone(tag), "processes of the killed job's tree are still alive"
    # a write(2) under way when the signal came may complete; after that nothing moves
    at_death = listing(out)
    time.sleep(2)
    assert listing(out) == at_death, "files changed after the job's tree died"
    assert visible(out) == published, "a shard or manifest entry appeared after the kill"
    # the rerun sweeps the killed writers' temporaries and finishes a set that verifies
    res = subprocess.run([sys.executable, "-m", "procmem", *JOB, "--workers", workers,
                          "--out", str(out), "--quiet"], cwd=REPO, capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=300)
    assert res.returncode == 0, res.stderr
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]
    assert sh.verify(out)[0] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_worker_fails_the_job_with_a_clear_error_and_the_rerun_resumes(tmp_path):
    out, tag = tmp_path / "shards", uuid.uuid4().hex
    p = start([*JOB, "--workers", "2", "--out", str(out)], tag, stderr=subprocess.PIPE)
    wait_for_first_shard(out, p)
    workers = [q for q in marked(tag) if parent_of(q) == p.pid and marked_render_parent(q, tag)]
    assert workers, "no pool worker found"
    os.kill(workers[0], signal.SIGKILL)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2, err
    assert "a worker process died (killed, or out of memory)" in err and "rerun the same" in err
    assert "Traceback" not in err
    assert gone(tag)
    res = subprocess.run([sys.executable, "-m", "procmem", *JOB, "--workers", "2",
                          "--out", str(out), "--quiet"], cwd=REPO, capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=300)
    assert res.returncode == 0, res.stderr
    assert sh.verify(out) == ([], 96)


def marked_render_parent(pid: int, tag: str) -> bool:
    """A pool worker is the parent of a render child (the resource tracker has none)."""
    return any(parent_of(q) == pid for q in marked(tag))


CHILD = """
import os, sys, time
from procmem.generators import lifeline
if sys.argv[2] == "poll":  # the portable fallback: no parent-death signal from the kernel
    lifeline._arm_kernel_signal = lambda: False
lifeline.die_with_parent(int(sys.argv[1]))
print(os.getpid(), flush=True)
time.sleep(60)
"""

PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(__import__("os").getpid()),
                          sys.argv[2]], stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["kernel", "poll"])
def test_die_with_parent_ends_a_child_whose_parent_is_killed(how):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, how], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    child = parent.stdout.readline().strip()
    assert state(child) not in (None, "Z")
    parent.kill()
    parent.wait()
    deadline = time.time() + 5
    while state(child) not in (None, "Z") and time.time() < deadline:
        time.sleep(0.02)
    assert state(child) in (None, "Z")


def test_a_worker_whose_parent_is_gone_publishes_nothing(tmp_path, renderer, monkeypatch):
    """The check before the rename: no shard, no manifest entry, no temporary."""
    from procmem.generators import lifeline

    cfg = jobs.GenerateConfig(process="kml", res=32, num_images=4, shard_size=4,
                              programs="library", frames_per_program=4)
    sh.open_manifest(tmp_path, cfg.to_json())
    monkeypatch.setattr(lifeline, "_parent", os.getppid() + 1)  # as if re-parented
    with pytest.raises(ParentGone, match="not publishing shard kml-000000.tar"):
        jobs.make_shard(cfg, 0, tmp_path, renderer)
    assert sorted(os.listdir(tmp_path)) == [sh.LOCK, sh.MANIFEST]
    assert sh.read_manifest(tmp_path)["shards"] == []
