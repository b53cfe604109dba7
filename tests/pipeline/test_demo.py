"""`procmem demo` end to end with tiny sizes: every stage's artefact exists and is valid, a rerun
skips every finished stage and reports the same numbers, and `--data` takes an ImageFolder."""

from __future__ import annotations

import contextlib
import io
import json
import re
import time

import numpy as np
import pytest
from PIL import Image

from procmem.cli import main
from procmem.shaders import registry

# A 2-step run of a 2-block ViT on 32 px images; the stages and their code are the real ones.
TINY = ["--sheet-res", "16", "--frames", "2", "--images", "100", "--steps", "2", "--per-class", "10",
        "--workers", "1"]
for _kv in ["model.timm_kwargs={patch_size: 8, img_size: 32, depth: 2}", "model.out_dim=256",
            "model.hidden_dim=128", "model.bottleneck_dim=32", "crops.global_size=32",
            "crops.local_size=16", "crops.local_number=2", "optim.batch_size=4",
            "data.workers=0", "data.shuffle_buffer=8"]:
    TINY.append(_kv)
SECTIONS = ("knn", "privacy", "unlearn", "compartment", "data", "pretrain")
STAGES = ("library", "shards", "pretrain", "export", "memory", "privacy", "compartment", "report")


def demo(*argv) -> tuple[int, str, float]:
    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        rc = main(["demo", *argv])
    return rc, out.getvalue(), time.perf_counter() - t0


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    rc, text, seconds = demo("--out", str(out), *TINY)
    return out, rc, text, seconds


def state(out):
    return json.loads((out / "demo-state.json").read_text())["stages"]


def test_demo_end_to_end(first):
    from procmem.memory import receipts
    from procmem.memory.store import VisualMemory

    out, rc, text, _ = first
    assert rc == 0, text
    # library contact sheet, as the demo has always made it
    sheet = Image.open(out / "pictures" / "data-library.png")
    assert sheet.format == "PNG"
    assert sheet.width * sheet.height > len(registry.library()) * 2 * 16 * 16
    # shards, run, encoder
    manifest = json.loads((out / "shards" / "manifest.json").read_text())
    assert sum(s["count"] for s in manifest["shards"]) == 100
    assert (out / "run" / "checkpoint.pt").is_file()
    meta = json.loads((out / "encoder.json").read_text())
    assert meta["step"] == 2 and (out / "encoder.safetensors").is_file()
    # the memory: held-back accuracy for the pretrained encoder and both baselines
    s = state(out)
    mem = s["memory"]["summary"]
    from procmem.pipeline.demo_memory import encoder_roles

    # (and procmem's shipped encoder where this version ships one)
    assert set(mem["accuracy"]) == set(encoder_roles()) >= {"pretrained", "random init", "raw pixels"}
    assert all(0.0 <= a <= 1.0 for a in mem["accuracy"].values())
    assert mem["queries"] == 24 and mem["memory_items"] == 96  # 10 per class, 20% held back
    assert mem["explained"]["neighbours"] and len(mem["explained"]["neighbours"]) == 10
    # forgetting 'face': receipt on disk verifies, the class is gone, no query gets its label
    f = mem["forget"]
    assert f["name"] == "face" and f["removed"] == 8
    r = receipts.load(mem["receipt"])
    assert r.passed and set(r.checks) == {"not_searchable", "not_on_disk", "not_in_pruning_stats"}
    assert len(r.removed_ids) == 8 and mem["store_verified"]
    with VisualMemory.open(out / "memory") as vm:
        assert len(vm) == 88 and f["label"] not in set(vm.labels.tolist())
    assert f["called_forgotten_after"] == 0 and sum(f["now_called"].values()) == f["queries"]
    # privacy audit and compartment audit
    row = s["privacy"]["summary"]["row"]
    assert 0.0 <= row["sensitive_fraction"] <= 1.0 and row["k"] == 10
    assert s["compartment"]["summary"]["verdict"] == "pass"
    # the report: every section, every picture it references exists
    html = (out / "report.html").read_text()
    for name in SECTIONS:
        assert f'<section id="{name}">' in html
    pics = [p.split('"')[0] for p in html.split('<img src="')[1:]]
    assert {"pictures/knn-neighbours.png", "pictures/data-shards.png"} <= set(pics)
    assert all((out / p).is_file() for p in pics)
    # the printout: where the report is and what each number means
    assert str((out / "report.html").resolve()) in text
    assert "What each number means:" in text and str(mem["receipt"]) in text
    assert "pretraining on procedural images added" in text


def test_demo_rerun_skips_every_stage(first):
    out, _, text, seconds = first
    before = state(out)
    rc, again, rerun_s = demo("--out", str(out), *TINY)
    assert rc == 0
    assert again.count("done already") == 7  # every stage but the report
    assert state(out) == before  # same numbers, nothing recomputed
    assert again.split("What each number means:")[1] == text.split("What each number means:")[1]
    assert rerun_s < seconds


def test_demo_with_image_folder(first, tmp_path):
    from procmem.memory.store import VisualMemory

    out = first[0]
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    for name, colour in (("blue", (30, 60, 220)), ("red", (220, 40, 30))):
        (folder / name).mkdir(parents=True)
        for i in range(10):
            px = np.clip(np.array(colour) + rng.normal(0, 25, (20 + i, 24, 3)), 0, 255)
            Image.fromarray(px.astype(np.uint8)).save(folder / name / f"{i}.png")
    rc, text, _ = demo("--out", str(out), *TINY, "--data", str(folder))
    assert rc == 0, text
    assert text.count("done already") == 5  # programs, shards, training, export, compartment
    mem = state(out)["memory"]["summary"]
    assert mem["classes"] == ["blue", "red"] and mem["queries"] == 4
    assert mem["forget"]["name"] == "blue" and mem["receipt_passed"]
    assert 0.0 <= mem["accuracy"]["pretrained"] <= 1.0
    with VisualMemory.open(out / "memory") as vm:
        assert set(vm.labels.tolist()) == {1} and vm.label_names[1] == "red"


def test_demo_restarts_a_run_of_another_recipe(first, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(first[0], out)
    # an earlier demo trained with another recipe: the trainer would refuse to resume it
    rc, text, _ = demo("--out", str(out), *TINY, "optim.lr=0.002")
    assert rc == 0, text
    assert "holds a run of another recipe" in text
    assert state(out)["pretrain"]["summary"]["step"] == 2


def test_a_killed_demo_resumes_and_reruns_what_changed(first, tmp_path):
    """More steps change the training's key; the demo is killed (SIGKILL) as soon as the
    new training is recorded. The rerun skips what was finished under the new keys (the
    programs, the shards, the training) and reruns the rest, which reads the new encoder."""
    import shutil
    import signal
    import subprocess
    import sys

    out = tmp_path / "out"
    shutil.copytree(first[0], out)
    before = state(out)
    with open(tmp_path / "log", "w") as log:
        p = subprocess.Popen([sys.executable, "-m", "procmem", "demo", "--out", str(out), *TINY,
                              "--steps", "3"], stdout=log, stderr=subprocess.STDOUT)
        while p.poll() is None and state(out)["pretrain"]["summary"]["step"] != 3:
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
        assert p.wait() == -signal.SIGKILL, (tmp_path / "log").read_text()
    at_kill = state(out)
    finished = [n for n in STAGES[:-1] if at_kill[n]["key"] != before[n]["key"]]  # new keys
    assert finished[:1] == ["pretrain"] and "memory" not in finished
    checkpoint = (out / "run" / "checkpoint.pt").stat().st_mtime_ns

    rc, text, _ = demo("--out", str(out), *TINY, "--steps", "3")
    assert rc == 0, text
    parts = re.split(r"\n\[\d/8\] ", text)[1:]
    skipped = [n for n, part in zip(STAGES, parts) if "done already" in part]
    assert skipped == ["library", "shards", *finished]  # unchanged keys, and the finished
    after = state(out)
    assert after["pretrain"] == at_kill["pretrain"] and after["pretrain"]["summary"]["step"] == 3
    assert (out / "run" / "checkpoint.pt").stat().st_mtime_ns == checkpoint  # not trained again
    for n in ("export", "memory", "privacy", "compartment"):  # they read the new encoder
        assert after[n]["key"] != before[n]["key"]
    assert after["memory"]["key"]["encoder"] == after["export"]["summary"]["weights_sha256"]
    assert sorted(p.name for p in out.glob("*state*")) == ["demo-state.json"]


@pytest.mark.parametrize("argv, message", [
    (["--frames", "0"], "--frames must be at least 1"),
    (["--data", "/no/such/folder"], "/no/such/folder"),
    (["--forget", "cats"], "--forget 'cats': no such class; choose one of digit 0"),
])
def test_demo_rejects_bad_input(tmp_path, capsys, argv, message):
    assert main(["demo", "--out", str(tmp_path / "o"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything was written
