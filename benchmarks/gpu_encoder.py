"""Issue 17 part 4 on one GPU in at most 9 minutes: data, the largest encoder that fits, its
kNN against random init and raw pixels, and the pretraining throughput options.

    python benchmarks/gpu_encoder.py --out $OUT [--data-root DATA] [--minutes 9] [--quick]

1. `procmem generate` kml-mixup shards on the node (EGL renders on the GPU).
2. Throughput, each option a short real `procmem pretrain` (median img/s of its logged steps
   after the first two logs): the default, `augment.photometric=device`,
   `run.compile=inductor`, `optim.batch_size=256`.
3. Training: a ViT-Ti/16 (5.7 M, fp16 teacher ~11 MB: the 16 MB limit of a shipped file) at
   128 px for as many steps as the time left allows at the measured default rate.
4. Export (`--fp16`, grid4 read-out) and `procmem eval knn` of the teacher, its random init
   and raw pixels on CIFAR-10 and Imagenette (skipped, with a note, without --data-root).

Writes `$OUT/results.json` after every phase (a run cut short keeps what it measured) and
`$OUT/teacher.safetensors` + `.json`. `--quick`: a dry run on the CPU (tiny network, 64
images, 3 steps a phase, 10 images per class). If the teacher beats the CPU encoder,
`python -m procmem.pipeline.ship` on its run decides whether it becomes procmem:default.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GPU = ["model.arch=vit_tiny_patch16_224", "model.timm_kwargs={}", "crops.global_size=128",
       "crops.local_size=64", "optim.batch_size=128", "model.readout=grid4",
       "run.device=cuda", "data.workers=14", "run.log_every=10", "run.checkpoint_every=500"]
QUICK = ["model.arch=vit_tiny_patch16_224", "model.timm_kwargs={patch_size: 8, img_size: 32, depth: 2}",
         "model.out_dim=256", "model.hidden_dim=128", "model.bottleneck_dim=32",
         "crops.global_size=32", "crops.local_size=16", "crops.local_number=2",
         "optim.batch_size=8", "model.readout=grid4", "run.device=cpu", "run.threads=1",
         "data.workers=1", "data.shuffle_buffer=16", "run.log_every=1"]
OPTIONS = {"default": [], "photometric=device": ["augment.photometric=device"],
           "compile=inductor": ["run.compile=inductor"], "batch 256": ["optim.batch_size=256"]}


def procmem(*args: str, log: Path) -> float:
    """Run a procmem command (its output into `log`); seconds it took. Fails loudly."""
    t0 = time.perf_counter()
    with open(log, "a") as f:
        f.write(f"$ procmem {' '.join(args)}\n")
        f.flush()
        subprocess.run([sys.executable, "-m", "procmem", *args], stdout=f, stderr=subprocess.STDOUT,
                       check=True, cwd=ROOT)
    return time.perf_counter() - t0


def logged_rate(run: Path) -> float | None:
    """Median img/s of a run's logged steps after its first two logs (start-up)."""
    rates = [r["img_per_s"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
             if "img_per_s" in r]
    return statistics.median(rates[2:] or rates) if rates else None


class Results:
    def __init__(self, out: Path):
        self.path, self.data = out / "results.json", {"phases": {}}

    def put(self, phase: str, value) -> None:
        self.data["phases"][phase] = value
        self.path.write_text(json.dumps(self.data, indent=1))
        print(f"[{phase}] {json.dumps(value)[:300]}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data-root", default=None, help="shared data (cifar10/, imagenette/)")
    ap.add_argument("--minutes", type=float, default=9.0, help="the whole script's budget")
    ap.add_argument("--images", type=int, default=60000)
    ap.add_argument("--quick", action="store_true", help="a dry run on the CPU at tiny sizes")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    work, log, res = out / "work", out / "log.txt", Results(out)
    base, images, res_px = (QUICK, 64, 32) if args.quick else (GPU, args.images, 128)
    option_steps = 3 if args.quick else 60

    shards = work / "shards"
    shutil.rmtree(work, ignore_errors=True)
    secs = procmem("generate", "--process", "kml-mixup", "--res", str(res_px), "--images",
                   str(images), "--shard-size", str(min(1000, images // 4)), "--seed", "0",
                   "--workers", "1" if args.quick else "14", "--out", str(shards), "--quiet",
                   log=log)
    res.put("generate", {"images": images, "res": res_px, "seconds": round(secs, 1),
                         "img_per_s": round(images / secs, 1)})

    rates = {}
    for name, extra in OPTIONS.items():
        if args.quick and name == "compile=inductor":
            continue  # minutes of compiling on a CPU; the GPU run measures it
        run = work / f"opt-{name.replace(' ', '').replace('=', '-')}"
        try:
            secs = procmem("pretrain", "--data", str(shards), "--out", str(run), "--quiet", *base,
                           *extra, f"schedule.max_steps={option_steps}", "probe.every=0", log=log)
            rates[name] = {"img_per_s": logged_rate(run), "wall_s": round(secs, 1)}
        except subprocess.CalledProcessError as e:  # an option that fails is a finding
            rates[name] = {"error": f"exit {e.returncode} (log.txt)"}
        res.put("throughput", rates)

    default = (rates.get("default") or {}).get("img_per_s") or 1.0
    batch = 8 if args.quick else 128
    left = args.minutes * 60 - (time.perf_counter() - t_start) - (30 if args.quick else 150)
    steps = 3 if args.quick else max(50, int(0.8 * left * default / batch))
    run = work / "run"
    secs = procmem("pretrain", "--data", str(shards), "--out", str(run), "--quiet", *base,
                   f"schedule.max_steps={steps}", "probe.every=0", log=log)
    res.put("train", {"steps": steps, "batch": batch, "seconds": round(secs, 1),
                      "img_per_s": logged_rate(run), "overrides": base})

    teacher = out / "teacher"
    procmem("pretrain", "export", str(run), "--out", str(teacher), "--fp16", log=log)
    size = teacher.with_name("teacher.safetensors").stat().st_size
    res.put("export", {"megabytes": round(size / 2**20, 2), "within_16MB": size <= 16 * 2**20})

    if args.data_root is None:
        res.put("eval", {"skipped": "no --data-root: give the shared data to judge the teacher"})
    else:
        spec = f"procmem:{teacher}"
        extra = ["--per-class", "10"] if args.quick else []
        procmem("eval", "knn", "--encoder", spec, "--encoder", f"random:{teacher}:0",
                "--encoder", "pixels", "--dataset", "cifar10", "--dataset", "imagenette",
                "--data-root", args.data_root, "--out", str(work / "eval"), "--quiet", *extra,
                log=log)
        from procmem.eval.knn_summary import paired_summary

        res.put("eval", paired_summary(work / "eval"))
    res.put("total", {"seconds": round(time.perf_counter() - t_start, 1)})
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
