"""The generation job: determinism, disjoint ranges in separate processes, kill -9 + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from procmem.cli import main
from procmem.generators import jobs
from procmem.generators import shards as sh

REPO = Path(__file__).resolve().parents[2]
CFG = jobs.GenerateConfig(process="kml-mixup", res=32, num_images=10, shard_size=4,
                          programs="library", frames_per_program=4, seed=3)
CLI_ARGS = ["--process", "kml-mixup", "--res", "32", "--images", "10", "--shard-size", "4",
            "--programs", "library", "--frames-per-program", "4", "--seed", "3"]


def tree(d: Path) -> dict:
    """Every visible file's bytes (the lock file aside)."""
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if not p.name.startswith(".")}


def procmem(*args) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "procmem", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory, renderer):
    """One clean in-process run of CFG: the reference every other run must equal."""
    d = tmp_path_factory.mktemp("clean")
    summary = jobs.run(CFG, d, watchdog=False, renderer=renderer, progress=False)
    assert summary.made == [0, 1, 2] and summary.timing.images == 10
    return d


def test_clean_run_writes_contract_samples(clean):
    m = sh.read_manifest(clean)
    assert [s["name"] for s in m["shards"]] == [f"kml-mixup-00000{i}.tar" for i in range(3)]
    assert [s["count"] for s in m["shards"]] == [4, 4, 2]
    assert m["config"] == CFG.to_json() and m["procmem_version"]
    key, members = next(sh.read_shard(clean / "kml-mixup-000001.tar"))
    assert key == "000001000000" and set(members) == {"png", "json"}
    meta = json.loads(members["json"])
    assert meta["process"] == "kml-mixup" and meta["resolution"] == 32
    assert meta["weights"] == [0.5, 0.5] and len(meta["mask"]) == 2
    src = meta["sources"][0]
    assert src["program"].startswith("lib/") and len(src["params"]) == 16
    assert 0 <= src["time"] < 10 and {"role", "pool"} <= set(src)
    assert sh.verify(clean) == ([], 10)


def test_rerun_is_byte_identical_and_skips_complete_shards(clean, tmp_path, renderer):
    jobs.run(CFG, tmp_path, shards=range(2, 3), watchdog=False, renderer=renderer,
             progress=False)
    jobs.run(CFG, tmp_path, shards=range(0, 2), watchdog=False, renderer=renderer,
             progress=False)  # any order
    assert tree(tmp_path) == tree(clean)
    again = jobs.run(CFG, tmp_path, watchdog=False, renderer=renderer, progress=False)
    assert again.made == [] and again.skipped == [0, 1, 2]


def test_disjoint_ranges_as_separate_processes_equal_one_run(clean, tmp_path):
    """As a Slurm array would: two processes, disjoint --shards, one directory, at once."""
    runs = [procmem("generate", *CLI_ARGS, "--out", str(tmp_path), "--shards", s,
                    "--no-watchdog") for s in ("0:2", "2")]
    for p in runs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert tree(tmp_path) == tree(clean)


def test_kill_minus_9_then_rerun_equals_a_clean_run(clean, tmp_path, tmp_path_factory,
                                                     renderer):
    cfg_args = [a if a != "10" else "40" for a in CLI_ARGS]  # 10 shards: a longer run
    cfg = jobs.GenerateConfig(**{**CFG.__dict__, "num_images": 40})
    p = procmem("generate", *cfg_args, "--out", str(tmp_path), "--no-watchdog")
    deadline = time.time() + 60
    while time.time() < deadline:
        m = sh.read_manifest(tmp_path) if (tmp_path / sh.MANIFEST).exists() else None
        if m and m["shards"]:
            break
        time.sleep(0.01)
    os.kill(p.pid, signal.SIGKILL)
    p.communicate()
    m = sh.read_manifest(tmp_path)
    assert 1 <= len(m["shards"]) < 10, "the run was not killed mid-way"
    # nothing partial under a final name: every visible tar is complete and verifies
    listed = {s["name"] for s in m["shards"]}
    for t in tmp_path.glob("*.tar"):
        if t.name not in listed:  # renamed but killed before its manifest entry
            assert sum(1 for _ in sh.read_shard(t)) == 4
    ref = tmp_path_factory.mktemp("ref")
    jobs.run(cfg, ref, watchdog=False, renderer=renderer, progress=False)
    resumed = jobs.run(cfg, tmp_path, watchdog=False, renderer=renderer, progress=False)
    assert resumed.skipped and resumed.made
    assert tree(tmp_path) == tree(ref)
    assert not list(tmp_path.glob(".*.tmp"))
    assert sh.verify(tmp_path)[0] == []
    # shard i depends on (options, seed, i) only: the 10-image run's full shards are the same
    for name in ("kml-mixup-000000.tar", "kml-mixup-000001.tar"):
        assert (tmp_path / name).read_bytes() == (clean / name).read_bytes()


def test_bad_options_fail_before_any_work(tmp_path, capsys):
    out = tmp_path / "never"
    for argv, msg in [
        (["--shards", "5:9"], "--shards '5:9'"),
        (["--shards", "x"], "--shards 'x'"),
        (["--images", "0"], "--images 0"),
        (["--mix", "1"], "--mix 1"),
        (["--clusters", "1"], "--clusters 1"),
        (["--mask-res", "64"], "--mask-res 64"),
        (["--quality", "0", "--format", "jpg"], "--quality 0"),
        (["--frames-per-program", "0"], "--frames-per-program 0"),
    ]:
        assert main(["generate", *CLI_ARGS, "--out", str(out), *argv]) == 2
        assert msg in capsys.readouterr().err
    assert not out.exists()


def test_a_different_config_into_the_same_directory_is_refused(clean, renderer):
    other = jobs.GenerateConfig(**{**CFG.__dict__, "seed": 4})
    with pytest.raises(sh.ShardError, match="seed: 3 there, 4 here"):
        jobs.run(other, clean, watchdog=False, renderer=renderer, progress=False)


def test_two_spawned_workers_with_watchdog_match(clean, tmp_path):
    summary = jobs.run(CFG, tmp_path, workers=2, watchdog=True, progress=False)
    assert summary.made == [0, 1, 2]
    assert tree(tmp_path) == tree(clean)
    text = summary.text()
    assert "images/s" in text and "rejected" in text and "failed programs" in text


def test_sheet_draws_the_first_images(clean, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "sheet.png"
    assert main(["shards", "sheet", str(clean), "--out", str(out), "--images", "6"]) == 0
    with Image.open(out) as im:
        assert im.width > 3 * 32 and im.height > 2 * 32
    assert main(["shards", "sheet", str(clean), "--out", str(tmp_path / "x.jpg")]) == 2
    assert ".png" in capsys.readouterr().err


def test_cli_jpeg_and_generated_programs(tmp_path, capsys):
    from procmem.generators.frames import grammar_available

    programs = "generated" if grammar_available() else "library"
    out = tmp_path / "jpg"
    argv = ["generate", "--process", "kml", "--res", "32", "--images", "3",
            "--shard-size", "3", "--format", "jpg", "--quality", "80", "--programs", programs,
            "--frames-per-program", "3", "--out", str(out), "--no-watchdog"]
    assert main(argv) == 0
    assert "made 1 shards (3 images)" in capsys.readouterr().out
    assert main(["shards", "verify", str(out)]) == 0
    key, members = next(sh.read_shard(out / "kml-000000.tar"))
    assert set(members) == {"jpg", "json"} and members["jpg"][:2] == b"\xff\xd8"
    meta = json.loads(members["json"])
    assert meta["format"] == "jpg" and meta["sources"][0]["program"].startswith(programs[:3])


def test_one_worker_with_watchdog_prefetches_pools_and_matches(clean, tmp_path):
    """With a SafeRenderer, shard k+1's pool renders while shard k is written: same bytes."""
    summary = jobs.run(CFG, tmp_path, workers=1, watchdog=True, progress=False)
    assert summary.made == [0, 1, 2] and tree(tmp_path) == tree(clean)
