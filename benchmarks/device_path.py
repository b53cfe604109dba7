"""Loader img/s of the two data paths against what a training step consumes (issue 16).

    .venv/bin/python benchmarks/device_path.py [--quick] [--preset paper-vits16] [--seconds 60]
                                              [--process kml-mixup] [key=value ...]

`data.process_on=loader` (the papers' path: workers render, compose and crop) and
`data.process_on=device` (workers render and draw; K-means, compositing, mixup and crops run
batched on the training device, pretrain.device_data) each feed `--data stream:<process>`
for `--seconds`, after one warm-up batch; both leave colour to the device
(augment.photometric=device), so the comparison is the work moved. The step's need is
batch / step time of the preset's network on the same device (synthetic crops). Goal on a
GPU node at the paper preset: device path >= 1.5x the step's need. The whole run stays
under 9 minutes at the defaults (two loaders of 60 s, their start-up, 10 steps). `--quick`:
tiny network, 64 px frames, pools of 16, one worker, on the CPU (a dry run of the script).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks.machine import format_table, machine_header  # noqa: E402
from procmem.pretrain.config import load_config  # noqa: E402
from procmem.pretrain.data import make_loader  # noqa: E402

QUICK = ["model.arch=vit_tiny_patch16_224", "model.timm_kwargs={patch_size: 8, img_size: 32, depth: 2}",
         "model.out_dim=256", "model.hidden_dim=128", "model.bottleneck_dim=32",
         "crops.global_size=32", "crops.local_size=16", "crops.local_number=2",
         "optim.batch_size=8", "data.workers=1", "data.stream_res=64", "data.stream_pool=16",
         "run.device=cpu", "run.threads=1"]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def loader_rate(spec: str, cfg: dict, batch: int, device: torch.device, seconds: float) -> dict:
    """Images per second a loader yields after its first batch (start-up timed apart)."""
    t0 = time.perf_counter()
    loader = make_loader(spec, cfg, batch, pin_memory=device.type == "cuda", device=device)
    batches = iter(loader)
    first = next(batches)
    sync(device)
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < seconds or n == 0:
        crops = next(batches)
        if cfg["data"]["process_on"] == "loader":
            crops = [c.to(device, non_blocking=True) for c in crops]
        n += 1
    sync(device)
    took = time.perf_counter() - start
    del first, batches, loader
    return {"img_s": n * batch / took, "batches": n, "startup_s": start - t0}


def step_need(cfg: dict, spec: str, steps: int) -> tuple[float, torch.device]:
    """(batch / step time of the preset's network on synthetic uint8 crops, the device)."""
    from procmem.pretrain.device_crops import view_sizes
    from procmem.pretrain.train import Trainer

    with tempfile.TemporaryDirectory() as out:
        tr = Trainer(cfg, spec, out, tensorboard=False, progress=False)
        dev, b = tr.dist.device, tr.batch
        sizes = view_sizes(cfg)
        groups = [torch.randint(0, 256, (sizes.count(s) * b, 3, s, s), dtype=torch.uint8, device=dev)
                  for s in dict.fromkeys(sizes)]
        tr.train_step(groups)  # warm-up (allocation, autotuning)
        sync(dev)
        t = time.perf_counter()
        for _ in range(steps):
            tr.train_step(groups)
        sync(dev)
        return b * steps / (time.perf_counter() - t), dev


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes on the CPU (a dry run)")
    ap.add_argument("--preset", default="paper-vits16")
    ap.add_argument("--process", default="kml-mixup")
    ap.add_argument("--seconds", type=float, default=60.0, help="timed seconds per loader")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps")
    ap.add_argument("overrides", nargs="*", help="config key=value overrides")
    args = ap.parse_args()
    preset = None if args.quick else args.preset
    base = (QUICK if args.quick else []) + ["augment.photometric=device"] + args.overrides
    spec = f"stream:{args.process}"
    cfg = load_config(preset, base)
    need, dev = step_need(cfg, spec, 2 if args.quick else args.steps)
    batch = cfg["optim"]["batch_size"] // max(1, int(os.environ.get("WORLD_SIZE", "1")))
    rows = []
    for place in ("loader", "device"):
        c = load_config(preset, base + [f"data.process_on={place}"])
        r = loader_rate(spec, c, batch, dev, 3.0 if args.quick else args.seconds)
        rows.append([f"process_on={place}", f"{r['img_s']:.1f}", f"{r['img_s'] / need:.2f}x",
                     r["batches"], f"{r['startup_s']:.1f}"])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(machine_header({"device": str(dev) + (f" ({torch.cuda.get_device_name(dev)})"
                                                if dev.type == "cuda" else ""),
                          "preset": preset or "quick (tiny)", "process": args.process,
                          "workers": cfg["data"]["workers"], "batch per rank": batch,
                          "load average (1, 5, 15 min)": load}))
    print(f"\nstep's need: {need:.1f} img/s ({dev})\n")
    print(format_table(["path", "loader img/s", "vs need", "batches", "start-up s"], rows))


if __name__ == "__main__":
    main()
