"""Issue 17's sweep: one recipe varied one knob at a time, each run judged as docs/benchmarks.md
judges encoders (T, its random init R, raw pixels P; CIFAR-10 and Imagenette kNN), resumable.

    python benchmarks/encoder_sweep.py --data SHARDS --work DIR [--preset demo-budget] \
        [--readout grid2] [--seeds 0 1 2] [--only NAME ...] [--variant NAME=key=v,key=v ...] \
        [--probe-data CIFAR10_TEST] [--set key=v ...] [--out-table T.md] [--out-picture P.png]

For every variant and seed: `procmem pretrain` into DIR/runs/NAME-sSEED (rerunning the sweep
resumes a killed training from its checkpoint, and skips what is done), `pretrain export
--readout`, then one `procmem eval knn` of procmem:EXPORT, random:EXPORT:SEED and pixels on
both sets (pixels' features are cached once for all). Printed and written: the table of
encoder_recipes.py plus, per run, its training CPU-minutes (of the last training segment: a
resumed training counts only what ran after the resume), T-R per CPU-minute and the online
probe curve, and the picture. The built-in variants change one knob of the preset each, at
the same number of images seen where the knob is the batch (steps scale inversely):

    base, no-koleo, locals-2, locals-8, batch-64, strong-crops (global scale 0.14-1, dino's
    resnet setting), weak-colour (jitter p 0.4, no solarize), lr-3e-3, femto (convnext_femto)

Variants needing other shards (the process, images per program) take `--variant
NAME=data=OTHER_SHARDS`. Nothing here is a test: the judge's numbers are the result.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from encoder_recipes import picture, table  # noqa: E402

from procmem.eval.knn_summary import paired_summary  # noqa: E402

VARIANTS: dict[str, dict[str, str]] = {
    "base": {},
    "no-koleo": {"loss.koleo_weight": "0"},
    "locals-2": {"crops.local_number": "2"},
    "locals-8": {"crops.local_number": "8"},
    "batch-64": {"optim.batch_size": "64", "schedule.epochs": "13", "optim.warmup_epochs": "1"},
    "strong-crops": {"crops.global_scale": "[0.14,1.0]", "crops.local_scale": "[0.05,0.14]"},
    "weak-colour": {"augment.jitter_p": "0.4", "augment.solarize_p": "0"},
    "lr-3e-3": {"optim.lr": "0.003"},
    "femto": {"model.arch": "convnext_femto"},
}
SETS = ("cifar10", "imagenette")


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """'NAME=key=v,key=v' -> (NAME, {key: v}); 'NAME=' is the preset unchanged."""
    name, _, rest = text.partition("=")
    if not name or not _:
        raise SystemExit(f"--variant {text!r}: write NAME=key=value[,key=value...]")
    return name, parse_pairs([p for p in rest.split(",") if p], f"--variant {text!r}")


def parse_pairs(pairs: list[str], where: str) -> dict[str, str]:
    """['key=v', ...] -> {key: v}; a pair without '=' stops with `where` named."""
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise SystemExit(f"{where}: {bad[0]!r} is not key=value")
    return dict(p.split("=", 1) for p in pairs)


def procmem(*args: str) -> None:
    cmd = [sys.executable, "-m", "procmem", *args]
    print("$", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)


def probe_curve(run: Path) -> list[float]:
    """The online probe's top-1 values in step order (metrics.jsonl)."""
    path = run / "metrics.jsonl"
    if not path.exists():
        return []
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return [r["probe_knn_top1"] for r in rows if "probe_knn_top1" in r]


def one(args, name: str, overrides: dict[str, str], seed: int, cache: Path) -> dict:
    """Train, export and judge one variant at one seed (each step skipped when done)."""
    label = f"{name}-s{seed}"
    run, export = args.work / "runs" / label, args.work / "exports" / label
    evaldir = args.work / "eval" / label
    over = dict(overrides)
    data = over.pop("data", str(args.data))
    cost = args.work / "cost" / f"{label}.json"
    if not (run / "checkpoint.pt").exists() or not cost.exists():
        probe = [f"probe.data={args.probe_data}"] if args.probe_data else []
        before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
        procmem("pretrain", "--preset", args.preset, "--data", data, "--out", str(run),
                f"run.seed={seed}", *probe, *(f"{k}={v}" for k, v in over.items()))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        cost.parent.mkdir(parents=True, exist_ok=True)
        cost.write_text(json.dumps({"cpu_s": cpu, "wall_s": time.time() - t0}))
    if not export.with_suffix(".json").exists():
        export.parent.mkdir(parents=True, exist_ok=True)
        procmem("pretrain", "export", str(run), "--out", str(export), "--readout", args.readout)
    if not (evaldir / "knn.json").exists():
        sets = [a for s in SETS for a in ("--dataset", s)]
        quick = ["--per-class", str(args.eval_per_class)] if args.eval_per_class else []
        procmem("eval", "knn", "--out", str(evaldir), "--cache", str(cache), "--quiet", *quick,
                "--encoder", f"procmem:{export}", "--encoder", f"random:{export}:{seed}",
                "--encoder", "pixels", *sets)
    return {"summary": paired_summary(evaldir), "cost": json.loads(cost.read_text()),
            "probe": probe_curve(run)}


def cost_table(results: dict[str, dict]) -> str:
    rows = ["| run | training CPU-min (wall) | CIFAR-10 T-R per CPU-min | online probe |",
            "|---|---|---|---|"]
    for label, r in results.items():
        cpu, wall = r["cost"]["cpu_s"] / 60, r["cost"]["wall_s"] / 60
        tr = r["summary"].get("cifar10", {}).get("T-R")
        rate = f"{100 * tr['diff'] / cpu:+.2f}" if tr and cpu > 0 else "-"
        curve = " ".join(f"{v:.3f}" for v in r["probe"]) or "-"
        rows.append(f"| {label} | {cpu:.1f} ({wall:.1f}) | {rate} | {curve} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a `procmem generate` shard folder")
    ap.add_argument("--work", type=Path, required=True, help="runs, exports, eval and cache")
    ap.add_argument("--preset", default="demo-budget")
    ap.add_argument("--readout", default="grid2", help="cls, grid2 or grid4 (default grid2)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--only", nargs="+", default=None, help="variant names to run")
    ap.add_argument("--variant", action="append", default=[], help="NAME=key=v,key=v (extra)")
    ap.add_argument("--probe-data", default=None, help="real images for the online probe")
    ap.add_argument("--set", nargs="+", default=[], metavar="KEY=V",
                    help="overrides for every variant, under its own (e.g. probe.every=130 "
                         "run.threads=2)")
    ap.add_argument("--eval-per-class", type=int, default=0,
                    help="memory items per class in the judge (0: all, as docs/benchmarks.md)")
    ap.add_argument("--out-table", type=Path, default=None)
    ap.add_argument("--out-picture", type=Path, default=None)
    args = ap.parse_args(argv)
    common = parse_pairs(args.set, "--set")
    variants = dict(VARIANTS)
    variants.update(parse_variant(v) for v in args.variant)
    variants = {name: {**common, **over} for name, over in variants.items()}
    names = args.only or list(variants)
    unknown = [n for n in names if n not in variants]
    if unknown:
        ap.error(f"unknown variant {unknown[0]!r}; known: {', '.join(variants)}")
    results = {}
    for name in names:
        for seed in args.seeds:
            results[f"{name}-s{seed}"] = one(args, name, variants[name], seed,
                                             args.work / "cache")
    text = table({k: r["summary"] for k, r in results.items()}) + "\n\n" + cost_table(results)
    print(text)
    if args.out_table:
        args.out_table.write_text(text + "\n")
    if args.out_picture:
        picture({k: r["summary"] for k, r in results.items()}, args.out_picture)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
