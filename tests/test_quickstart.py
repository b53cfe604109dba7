"""The README's Quickstart block runs verbatim (at 16 images and 2 steps, on photos made here:
labelled ones for the memory, loose ones to classify), its jobs log plain progress lines with
stderr in a file, and docs/gpu.md's `--no-deps` install list holds every package the commands
import beyond torch, torchvision and timm."""

from __future__ import annotations

import ast
import csv
import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GPU_DOC = ROOT / "docs" / "gpu.md"
PACKAGES = ("procmem", "shaders", "generators", "pretrain", "memory", "eval")  # installed as procmem.*
PREINSTALLED = ("torch", "torchvision", "timm")  # docs/gpu.md: kept from the node's image

# Written as sitecustomize.py on PYTHONPATH: every Python process of the block (and the
# processes they spawn) records the top-level modules it had loaded when it exits.
IMPORT_LOG = """\
import atexit, os, sys

def _write(where=os.environ["PROCMEM_IMPORT_LOG"]):
    with open(os.path.join(where, f"{os.getpid()}.txt"), "w") as f:
        f.write("\\n".join(sorted({m.partition(".")[0] for m in list(sys.modules)})))

if os.environ.get("PROCMEM_IMPORT_LOG"):
    atexit.register(_write)
"""


def _bash_block(heading: str) -> str:
    section = README.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def _photos(root: Path, rng, labelled: bool = True) -> None:
    """4 reddish and 4 bluish photos: in class folders, or loose (queries have no labels)."""
    for c, colour in enumerate(("red", "blue")):
        folder = root / colour if labelled else root
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(4):
            img = rng.integers(0, 80, (24, 24, 3), dtype=np.uint8)
            img[..., 2 * c] += 170
            Image.fromarray(img).save(folder / f"{colour}{i}.png")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """The block, run by bash -e in a fresh folder beside a link to this interpreter's venv."""
    venv = Path(sys.prefix)
    if not (venv / "bin" / "activate").is_file():
        pytest.skip("tests run outside a virtual environment; the block activates .venv")
    tmp = tmp_path_factory.mktemp("quickstart")
    (tmp / ".venv").symlink_to(venv)
    rng = np.random.default_rng(0)
    _photos(tmp / "photos", rng)
    _photos(tmp / "queries", rng, labelled=False)
    hook, log = tmp / "hook", tmp / "imports"
    hook.mkdir()
    log.mkdir()
    (hook / "sitecustomize.py").write_text(IMPORT_LOG)
    env = {k: v for k, v in os.environ.items() if k not in ("PROCMEM_PROGRESS", "VIRTUAL_ENV")}
    env |= {"IMAGES": "16", "STEPS": "2", "PROCMEM_PROGRESS_EVERY": "0", "OMP_NUM_THREADS": "1",
            "PROCMEM_IMPORT_LOG": str(log),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH")]))}
    with open(tmp / "stdout.txt", "w") as out, open(tmp / "stderr.txt", "w") as err:
        proc = subprocess.run(["bash", "-e", "-c", _bash_block("Quickstart")], cwd=tmp, env=env,
                              stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=900)
    return tmp, proc.returncode


def test_the_quickstart_block_chains_from_shards_to_the_audit(quickstart):
    tmp, rc = quickstart
    out, err = (tmp / "stdout.txt").read_text(), (tmp / "stderr.txt").read_text()
    assert rc == 0, f"{out[-2000:]}\n{err[-3000:]}"
    q = tmp / "runs" / "quickstart"
    assert json.loads((q / "shards" / "manifest.json").read_text())["shards"][0]["count"] == 16
    assert "step 2, final loss" in out
    meta = json.loads((q / "encoder.json").read_text())
    assert meta["learned_from"]["manifest_sha256"] and (q / "encoder.safetensors").is_file()
    with np.load(q / "photos.npz") as z:
        assert z["features"].shape[0] == 8 and str(z["fingerprint"]) == meta["weights_sha256"]
    assert "8 queries (photos without labels)" in out and "top-1" not in out
    with open(q / "predictions" / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["path"] for r in rows) == sorted(f"queries/{c}{i}.png" for c in ("red", "blue")
                                                     for i in range(4))
    assert {r["class"] for r in rows} <= {"red", "blue"} and all(r["neighbour_sources"] for r in rows)
    assert (q / "predictions" / "neighbours.png").stat().st_size > 1000
    from procmem.memory.store import VisualMemory

    receipt = json.loads(next((q / "memory" / "receipts").glob("*.json")).read_text())
    assert receipt["passed"] is True and "FAIL" not in out
    with VisualMemory.open(q / "memory") as mem:
        assert len(mem) == 7  # 8 photos, the first forgotten
    assert json.loads((q / "audit" / "compartment.json").read_text())["verdict"] == "pass"


def test_its_long_jobs_write_plain_progress_lines_to_a_log_file(quickstart):
    tmp, rc = quickstart
    err = (tmp / "stderr.txt").read_text()
    assert rc == 0 and "\r" not in err  # no terminal bar
    for job in (r"kml-mixup 64px: \d+/16 img", r"DINO: 1/2 step \(50%\), [\d.]+ step/s, ETA \S+, loss=",
                r"embed: \d+/\d+ batch", r"build: \d+/\d+ chunk", r"verify: \d+/\d+ shard"):
        assert re.search(job, err), f"no progress line {job!r} in:\n{err[-3000:]}"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(*roots: str) -> set[str]:
    """The distributions `roots` need, with their own requirements, transitively (no extras)."""
    seen, todo = set(), [_norm(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for r in reqs:
            if "extra ==" not in r:
                todo.append(_norm(re.split(r"[\s<>=!~\[(;]", r.strip(), maxsplit=1)[0]))
    return seen


def _third_party_imports() -> list[str]:
    """Every import statement of procmem's source naming a third-party module, module level or
    inside a function (the handlers import heavy libraries late)."""
    found = set()
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    top = node.names[0].name
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    top = node.module
                else:
                    continue
                top = top.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in ("procmem", "__future__"):
                    found.add(ast.unparse(node))
    return sorted(found)


def _gpu_doc_list() -> set[str]:
    """The names of docs/gpu.md's `pip install --no-deps` lines (continuations joined)."""
    text = GPU_DOC.read_text().replace("\\\n", " ")
    names = set()
    for line in text.splitlines():
        if line.strip().startswith("pip install --no-deps") and " -e " not in f"{line} ":
            words = line.split("#", 1)[0].split()[3:]
            names |= {_norm(w) for w in words if not w.startswith("-")}
    return names


def test_gpu_md_lists_every_package_the_commands_import(quickstart, tmp_path):
    tmp, rc = quickstart
    assert rc == 0
    log = tmp / "imports"
    # and every import statement of the source, run once in a process of its own
    proc = subprocess.run([sys.executable, "-c", "\n".join(_third_party_imports())],
                          env={**os.environ, "PROCMEM_IMPORT_LOG": str(log),
                               "PYTHONPATH": str(tmp / "hook")}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {m for f in log.glob("*.txt") for m in f.read_text().split()}
    owners = md.packages_distributions()
    loaded = {_norm(d) for m in modules if m not in sys.stdlib_module_names for d in owners.get(m, ())}
    ours = _requirements("procmem")  # optional extras a library probed for are not ours to list
    needed = (loaded & ours) - _requirements(*PREINSTALLED) - {"procmem"}
    listed = _gpu_doc_list()
    assert {"tensorboard", "matplotlib", "moderngl", "webdataset", "faiss-cpu"} <= needed
    assert needed <= listed, f"docs/gpu.md's install list lacks {sorted(needed - listed)}"
    assert listed <= ours, f"docs/gpu.md lists what procmem does not need: {sorted(listed - ours)}"
