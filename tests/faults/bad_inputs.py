"""Every bad input issue 12 names (item 8 and elsewhere), run through the real commands: each
must be answered with a clear error (the expected exit code, a message that names the thing,
no traceback) and lose nothing.

The deterministic tests cover each in-process (tests/faults/test_untrusted_data.py,
test_shard_rerun.py, test_library_faults.py, tests/memory/test_cli.py, test_receipts.py,
test_erasure.py, tests/pretrain/test_training.py); this table runs them as a user would and
records the exit code and message for docs/reliability.md.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from procmem.generators import shards as sh
from procmem.memory.store import VisualMemory
from tests.faults.baddata import corrupt_every_sample, rename_first_shard
from tests.faults.proctree import procmem
from tests.faults.report import Outcome, log
from tests.faults.test_library_faults import BAD, GOOD, HANG, make_library
from tests.pretrain.tinydata import TINY_OVERRIDES, write_tiny_shards

FINGERPRINT = "campaign-encoder"
GENERATE = ["generate", "--process", "kml", "--res", "32", "--images", "8", "--shard-size", "4",
            "--programs", "library", "--frames-per-program", "4", "--seed", "2", "--quiet"]


@dataclass
class Probe:
    """A command given a bad input, and the answer it owes."""

    argv: list[str]
    exit: int
    says: str  # a phrase the answer must hold
    lost: Callable[[], str | None] = lambda: None  # what the command lost or ran, if anything
    library: Path | None = None
    stream: str = "stderr"  # where the answer is printed
    env: dict = field(default_factory=dict)


CASES: list[tuple[str, Callable[[Path], Probe]]] = []


def case(name: str):
    def register(make):
        CASES.append((name, make))
        return make
    return register


# ------------------------------------------------------------------ memory
def memory(work: Path, kind: str = "flat", n: int = 300) -> tuple[Path, np.ndarray]:
    """A memory of `n` random 16-d vectors in classes cat/dog/bird, sources /photos/<class>/<i>.png."""
    path = work / "mem"
    rng = np.random.default_rng(0)
    names = {0: "cat", 1: "dog", 2: "bird"}
    labels = np.arange(n) % 3
    opts = dict(nlist=4, m=4, nbits=4) if kind == "ivfpq" else {}
    with VisualMemory.create(path, 16, FINGERPRINT, index=kind, **opts) as m:
        x = m.vectors(m.add(rng.normal(size=(n, 16)), labels, label_names=names,
                            sources=[f"/photos/{names[c]}/{i}.png" for i, c in enumerate(labels)]))
    return path, x


def unchanged(path: Path) -> Callable[[], str | None]:
    """The check that a refused edit changed nothing: the version, items and receipts now."""
    def state(m):
        return m.version, m.ids.tolist(), sorted(p.name for p in path.glob("receipts/*"))

    with VisualMemory.open(path, read_only=True) as m:
        before = state(m)

    def lost():
        with VisualMemory.open(path, read_only=True) as m:
            return None if state(m) == before else f"the memory changed (version {m.version})"
    return lost


def remove(selector: list[str], says: str):
    def make(work):
        path, _ = memory(work)
        return Probe(["memory", "remove", str(path), *selector], 2, says, unchanged(path))
    return make


for name, selector, says in (
        ("`memory remove --ids @missing-file`", ["--ids", "@/nonexistent/ids.txt"], "ids.txt"),
        ("`memory remove --label 42` (no such class)", ["--label", "42"], "matches label 42"),
        ("`memory remove --label-name horse` (no such class)", ["--label-name", "horse"], "horse"),
        ("`--source-glob` matching nothing", ["--source-glob", "*/horse/*"], "source glob '*/horse/*'"),
        ("`--source-prefix` that differs only in case", ["--source-prefix", "/PHOTOS/cat/"],
         "source prefix '/PHOTOS/cat/'")):
    case(name)(remove(selector, says))


def npz(work: Path, x: np.ndarray, **arrays) -> Path:
    path = work / "new.npz"
    np.savez(path, features=x, labels=np.zeros(len(x), np.int64),
             label_names=np.array(["cat"]), **arrays)
    return path


@case("an npz whose `ids` are already in the memory (the same file added twice)")
def _(work):
    path, x = memory(work)
    f = npz(work, x[:5] + 0.1, ids=np.arange(7, 12), fingerprint=np.asarray(FINGERPRINT))
    return Probe(["memory", "add", str(path), "--embeddings", str(f)], 2, "already in the memory",
                 unchanged(path))


@case("an npz whose `ids` repeat")
def _(work):
    path, x = memory(work)
    f = npz(work, x[:3] + 0.1, ids=np.array([400, 401, 400]), fingerprint=np.asarray(FINGERPRINT))
    return Probe(["memory", "add", str(path), "--embeddings", str(f)], 2, "distinct integers",
                 unchanged(path))


@case("an npz without an encoder fingerprint into a fingerprinted memory")
def _(work):
    path, x = memory(work)
    f = npz(work, x[:3] + 0.1)
    return Probe(["memory", "add", str(path), "--embeddings", str(f)], 2,
                 "names no encoder fingerprint", unchanged(path))


@case("an npz from another encoder")
def _(work):
    path, x = memory(work)
    f = npz(work, x[:3] + 0.1, fingerprint=np.asarray("other-encoder"))
    return Probe(["memory", "add", str(path), "--embeddings", str(f)], 2, "other-encoder",
                 unchanged(path))


@case("`index.faiss` differing from SQLite, its sidecar hash rewritten to match")
def _(work):
    path, _ = memory(work, "ivfpq")
    with VisualMemory.open(path) as m:
        ids, x, _ = m.arrays()
        m.index.index.reset()
        m.index.add(ids, np.roll(x, 1, axis=0))  # every id holds its neighbour's codes
        m._write_index_cache()
    return Probe(["memory", "verify", str(path)], 1, "codes of another vector", stream="stdout")


@case("a temporary holding vectors left in the memory by a killed writer")
def _(work):
    path, x = memory(work)
    (path / ".index.faiss.k1ll3d.tmp").write_bytes(x[:5].tobytes())
    return Probe(["memory", "verify", str(path)], 1, ".index.faiss.k1ll3d.tmp", stream="stdout")


@case("a copy of removed vectors planted in the memory directory")
def _(work):
    path, x = memory(work)
    (path / "backup.bin").write_bytes(b"\1" * 7 + x[:3].tobytes())

    def lost():
        res = procmem(["memory", "verify", str(path)])
        return None if res.returncode == 1 and "erasure incomplete" in res.stdout else \
            f"verify afterwards: exit {res.returncode}, {res.stdout.strip()[-200:]}"
    return Probe(["memory", "remove", str(path), "--ids", "0,1,2"], 1, "found in backup.bin", lost,
                 stream="stdout")


@case("a kept item holding exactly the vector of one chosen for removal")
def _(work):
    path, x = memory(work)
    with VisualMemory.open(path) as m:
        m.add(x[:1], [1], sources=["/photos/dog/twin.png"])
    return Probe(["memory", "remove", str(path), "--ids", "0"], 2, "nothing was removed",
                 unchanged(path))


@case("a memory directory that holds no memory")
def _(work):
    return Probe(["memory", "info", str(work)], 2, "no visual memory")


@case("a receipt file that does not exist (receipt verify)")
def _(work):
    path, _ = memory(work)
    return Probe(["memory", "receipt", "verify", str(work / "nope.json"), str(path)], 2, "nope.json")


@case("a receipt file that is no receipt (memory scan)")
def _(work):
    (work / "r.json").write_text("{}")
    (work / "f.bin").write_bytes(b"x" * 100)
    return Probe(["memory", "scan", "--receipt", str(work / "r.json"), str(work / "f.bin")], 2,
                 "r.json")


# ------------------------------------------------------------------ shard sets, pretraining
def poisoned(work: Path, name: str) -> Path:
    d = write_tiny_shards(work / "set", shards=2, per_shard=4)
    (work / "outside.tar").write_bytes((d / "shaders-000000.tar").read_bytes())
    return rename_first_shard(d, name)


def pretrain(data: Path, run: Path, *overrides: str) -> list[str]:
    return ["pretrain", "--data", str(data), "--out", str(run), "--quiet", *TINY_OVERRIDES,
            "schedule.max_steps=1", *overrides]


@case("a manifest entry without `sha256`")
def _(work):
    d = write_tiny_shards(work / "set", shards=1, per_shard=2)
    m = json.loads((d / sh.MANIFEST).read_text())
    del m["shards"][0]["sha256"]
    (d / sh.MANIFEST).write_text(json.dumps(m))
    return Probe(["shards", "verify", str(d)], 2, "no valid 'sha256'")


@case("a manifest shard name `pipe:CMD` (pretrain)")
def _(work):
    canary = work / "canary"
    d = poisoned(work, f"pipe:touch {canary}")

    def lost():
        time.sleep(0.2)
        return "the command in the manifest ran" if canary.exists() else None
    return Probe(pretrain(d, work / "run"), 2, "not a plain file name", lost)


@case("a manifest shard name `/abs` (shards verify)")
def _(work):
    return Probe(["shards", "verify", str(poisoned(work, "/etc/passwd"))], 2, "not a plain file name")


@case("a manifest shard name `../x` (pretrain)")
def _(work):
    return Probe(pretrain(poisoned(work, "../outside.tar"), work / "run"), 2, "not a plain file name")


@case("a shard set whose every sample is corrupt (pretrain)")
def _(work):
    d = corrupt_every_sample(write_tiny_shards(work / "set", shards=3, per_shard=4))
    return Probe(pretrain(d, work / "run", "data.max_bad_samples=40"), 2,
                 "samples in a row could not be read")


@case("a damaged checkpoint in the run directory (pretrain)")
def _(work):
    d = write_tiny_shards(work / "set", shards=1, per_shard=4)
    (work / "run").mkdir()
    (work / "run" / "checkpoint.pt").write_bytes(b"half a checkpoint")

    def lost():
        return None if (work / "run" / "checkpoint.pt").read_bytes() == b"half a checkpoint" \
            else "the damaged checkpoint was overwritten"
    return Probe(pretrain(d, work / "run"), 2, "cannot be read", lost)


@case("`--data` naming no shard set (pretrain)")
def _(work):
    return Probe(pretrain(work / "nothing", work / "run"), 2, "nothing")


# ------------------------------------------------------------------ generation, the library
@case("`generate --out` naming a file")
def _(work):
    (work / "a-file").write_text("keep me")
    return Probe([*GENERATE, "--out", str(work / "a-file")], 2, "as a shard directory",
                 lambda: None if (work / "a-file").read_text() == "keep me" else "the file changed")


@case("a shard set whose `manifest.json` is not JSON (generate rerun)")
def _(work):
    (work / "set").mkdir()
    (work / "set" / sh.MANIFEST).write_bytes(b"\xff\xfe not json")
    return Probe([*GENERATE, "--out", str(work / "set")], 2, "is not valid JSON")


@case("a complete shard corrupted in place (generate rerun)")
def _(work):
    out = work / "set"
    res = procmem([*GENERATE, "--out", str(out)])
    assert res.returncode == 0, res.stderr
    tar = out / "kml-000001.tar"
    good = tar.read_bytes()
    data = bytearray(good)
    data[len(data) // 2] ^= 1
    tar.write_bytes(bytes(data))
    return Probe([*GENERATE, "--out", str(out)], 0, "remaking kml-000001.tar: sha256",
                 lambda: None if tar.read_bytes() == good else "the shard was not remade as it was")


@case("a malformed library file (shaders list)")
def _(work):
    root = make_library(work / "library", bad=BAD, good=GOOD)
    return Probe(["shaders", "list"], 0, "skipped library program", library=root)


@case("a library whose every file is malformed (generate)")
def _(work):
    root = make_library(work / "library", bad=BAD)
    return Probe([*GENERATE, "--out", str(work / "set")], 2, "no usable program", library=root)


@case("a library program that hangs (shaders render)")
def _(work):
    root = make_library(work / "library", hang=HANG)
    return Probe(["shaders", "render", "lib/test/hang", "--res", "768", "--out",
                  str(work / "hang.png")], 2, "did not finish rendering within", library=root,
                 lost=lambda: "it wrote a picture" if (work / "hang.png").exists() else None)


def relative(text: str, work: Path) -> str:
    """`text` with the case's working folder left out of its paths."""
    return text.replace(f"{work}/", "").replace(str(work), ".")


def shown(argv: list[str], work: Path) -> str:
    """The command as the table shows it: paths relative to the case's folder, the tiny DINO
    recipe and the small generate job's options as `...`."""
    out, hidden = [], set(GENERATE[1:] if argv[0] == "generate" else TINY_OVERRIDES)
    for a in argv:
        if a in hidden:
            if out[-1] != "...":
                out.append("...")
        else:
            out.append(relative(a, work))
    return "procmem " + " ".join(out)


def answer(text: str) -> str:
    """The line that answers: the first `procmem: error`/`FAIL`/`skipped` line, else the last."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    for key in ("procmem: error", "FAIL", "problem", "procmem: skipped", "procmem: remaking"):
        hit = [x for x in lines if key in x]
        if hit:
            return hit[0]
    return lines[-1] if lines else ""


def run(only: str | None = None) -> tuple[Outcome, list[tuple]]:
    """Every case (or those whose name holds `only`): one Outcome, and a row per case of
    (input, command, exit, answer)."""
    o, rows, t0 = Outcome("bad inputs answered with a clear error, nothing lost", "bad-input"), \
        [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, make) in enumerate(CASES):
            if only and only not in name:
                continue
            work = Path(tmp) / str(i)
            work.mkdir()
            probe = make(work)
            res = procmem(probe.argv, library=probe.library, **probe.env)
            said = res.stdout if probe.stream == "stdout" else res.stderr
            bad = []
            if res.returncode != probe.exit:
                bad.append(f"exit {res.returncode}, not {probe.exit}")
            if probe.says not in said:
                bad.append(f"the answer lacks {probe.says!r}")
            if "Traceback" in res.stderr:
                bad.append("a traceback")
            lost = probe.lost()
            if lost:
                bad.append(lost)
            got = relative(answer(said), work)
            log(f"bad input: {name}: exit {res.returncode}: {got[:160]} {'; '.join(bad)}")
            o.record("; ".join(bad) or None, name)
            rows.append((name, f"`{shown(probe.argv, work)}`", res.returncode, got))
    o.seconds = time.perf_counter() - t0
    return o, rows
