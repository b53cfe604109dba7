"""DINO pretraining speed on CPU: training img/s, data-loader img/s, and procmem's loop against
a plain reference loop written the way facebookresearch/dino's main_dino.py writes it.

    .venv/bin/python benchmarks/pretrain.py [--data SHARD_DIR] [--steps 4] [--rounds 5] [key=value ...]

Without --data, 500 procedural images (kml-mixup, 64 px) are generated into a temporary
directory with generators.jobs. The two loops run the same student/teacher, loss and
batches, alternating in rounds so that load from other processes hits both alike; the
table reports their ratio (issue 16's goal: >= 1.3x with tiny-cpu's network; the reference is
dino's arithmetic, fp32 on a CPU, while the preset's run.cpu_precision=auto takes bf16 where
the CPU has AMX; `run.cpu_precision=fp32` compares like with like). The loader is timed alone
(goal: >= 3x the images per second that a training step consumes). With
`augment.photometric=device` the loader does only the geometry and procmem's step also
does the colour augmentations, which the reference is spared (its loader would have):
the step ratio then counts that work against procmem. `--augment-only` times the
multi-crop per image on one core for each backend and place of the colour work.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks.machine import format_table, machine_header  # noqa: E402
from procmem.encoder.preprocess import normalize  # noqa: E402
from procmem.pretrain.config import load_config  # noqa: E402
from procmem.pretrain.data import make_loader  # noqa: E402
from procmem.pretrain.train import Trainer  # noqa: E402


def make_shards(directory: Path) -> Path:
    from procmem.generators import jobs

    cfg = jobs.GenerateConfig(process="kml-mixup", res=64, num_images=500, shard_size=125)
    jobs.run(cfg, directory, progress=False)
    return directory


class ReferenceLoop:
    """dino main_dino.train_one_epoch, per step, on the same networks (copied) and batches.

    Per-crop float tensors grouped by resolution in the wrapper (utils.MultiCropWrapper),
    per-parameter Python loops for clipping and the EMA, `.data` arithmetic, as dino does.
    """

    def __init__(self, trainer: Trainer):
        from procmem.pretrain.model import build_student_teacher
        from procmem.pretrain.update import param_groups

        self.t = trainer
        dev = trainer.dist.device
        self.student, self.teacher = build_student_teacher(trainer.cfg)  # eager, fused attention
        self.student.load_state_dict(trainer.student.state_dict())
        self.teacher.load_state_dict(trainer.teacher.state_dict())
        self.student.to(dev)
        self.teacher.to(dev)
        self.loss = copy.deepcopy(trainer.loss)
        self.optimizer = torch.optim.AdamW(param_groups(self.student))
        self.it = trainer.step
        # dino: torch.cuda.amp.autocast(fp16_scaler is not None); fp32 on a CPU
        cuda_bf16 = dev.type == "cuda" and trainer.cfg["run"]["bf16"]
        self.autocast = lambda: torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda_bf16)

    @staticmethod
    def wrapper(model, x: list[torch.Tensor]) -> torch.Tensor:
        idx_crops = torch.cumsum(torch.unique_consecutive(
            torch.tensor([inp.shape[-1] for inp in x]), return_counts=True)[1], 0)
        start_idx, output = 0, None
        for end_idx in idx_crops:
            _out = model.backbone(torch.cat(x[start_idx:end_idx]))
            output = _out if output is None else torch.cat((output, _out))
            start_idx = end_idx
        return model.head(output)

    def step(self, images: list[torch.Tensor]) -> float:
        sched, cfg = self.t.sched, self.t.cfg
        it = self.it
        for i, param_group in enumerate(self.optimizer.param_groups):
            param_group["lr"] = sched.lr[it]
            if i == 0:
                param_group["weight_decay"] = sched.wd[it]
        epoch = it // sched.steps_per_epoch
        with self.autocast():
            teacher_output = self.wrapper(self.teacher, images[:2])
            student_output = self.wrapper(self.student, images)
            loss = self.loss(student_output, teacher_output, float(sched.teacher_temp[epoch]))
        if not math.isfinite(loss.item()):
            raise SystemExit(f"Loss is {loss.item()}, stopping training")
        self.optimizer.zero_grad()
        loss.backward()
        for p in self.student.parameters():  # utils.clip_gradients
            if p.grad is not None:
                param_norm = p.grad.data.norm(2)
                clip_coef = cfg["optim"]["clip_grad"] / (param_norm + 1e-6)
                if clip_coef < 1:
                    p.grad.data.mul_(clip_coef)
        if epoch < cfg["optim"]["freeze_last_layer"]:  # utils.cancel_gradients_last_layer
            for n, p in self.student.named_parameters():
                if "last_layer" in n:
                    p.grad = None
        self.optimizer.step()
        with torch.no_grad():
            m = sched.momentum[it]
            for param_q, param_k in zip(self.student.parameters(), self.teacher.parameters()):
                param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)
        self.it += 1
        return loss.item()


def as_reference_input(batch: list[torch.Tensor], b: int, mean, std,
                       device: torch.device) -> list[torch.Tensor]:
    """procmem's grouped uint8 batch -> dino's list of normalised per-crop float tensors."""
    crops = []
    for group in batch:
        x = normalize(group.to(device, non_blocking=True), mean, std)
        crops += list(x.split(b))
    return crops


def step_rounds(trainer: Trainer, reference: ReferenceLoop, fixed: list, rounds: int, steps: int,
                mean, std) -> list[dict]:
    """Time `steps` steps of each loop per round on the same batches, the order alternating
    so that load from other processes hits both alike: per round, (wall s, CPU s) per loop
    and the 1-minute load average. CPU time (this process, all threads) is the steadier
    measure on a shared machine: it leaves out the time the step waited for a core."""
    out = []
    dev = trainer.dist.device
    for r in range(rounds):
        row: dict = {"load": os.getloadavg()[0]}
        for name in ("procmem", "reference") if r % 2 == 0 else ("reference", "procmem"):
            wall = cpu = 0.0
            for s in range(steps):
                batch = fixed[(r * steps + s) % len(fixed)]
                ref_in = None if name == "procmem" else as_reference_input(
                    batch, trainer.batch, mean, std, dev)
                t, c = time.perf_counter(), time.process_time()
                if ref_in is None:
                    trainer.train_step(batch)
                else:  # dino's loader made the float crops
                    reference.step(ref_in)
                wall += time.perf_counter() - t
                cpu += time.process_time() - c
            row[name] = (wall, cpu)
        out.append(row)
    return out


def augment_cost(preset: str, overrides: list[str], images: int = 40) -> list[list]:
    """Milliseconds per image of the loader's multi-crop on one core, per backend and per
    place of the colour augmentations, on the same images; then the batched colour
    augmentations (augment.photometric=device) on this machine's device, per image."""
    import numpy as np
    from PIL import Image

    from procmem.pretrain.augment import MultiCrop, collate_crops
    from procmem.pretrain.photometric import BatchPhotometric

    variants = [("pil", "loader"), ("tensor", "loader"), ("pil", "device")]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a DataLoader worker
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(8)]
    ms: dict[tuple[str, str], list[float]] = {}
    for rnd in range(2):  # alternate, so drift in machine load hits every variant
        for backend, place in variants if rnd == 0 else variants[::-1]:
            cfg = load_config(preset, [*overrides, f"augment.backend={backend}",
                                       f"augment.photometric={place}"])
            mc = MultiCrop(cfg)
            inputs = [Image.fromarray(a) if backend == "pil" else torch.from_numpy(a).permute(2, 0, 1)
                      for a in arrays]
            mc(inputs[0])
            t = time.perf_counter()
            for i in range(images):
                mc(inputs[i % len(inputs)])
            ms.setdefault((backend, place), []).append((time.perf_counter() - t) / images * 1000)
    torch.set_num_threads(threads)
    base = min(ms[("pil", "loader")])
    where = {"loader": "colour in the loader", "device": "colour left to the device"}
    rows = [[f"loader multi-crop, {b} backend, {where[p]} ({preset})", f"{min(v):.2f} ms",
             f"{base / min(v):.2f}x pil + colour"] for (b, p), v in ms.items()]

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    n = 64
    cfg = load_config(preset, [*overrides, "augment.photometric=device"])
    geometry = MultiCrop(cfg)
    batch = collate_crops([geometry(arrays[i % len(arrays)]) for i in range(n)])
    batch = [g.to(dev) for g in batch]
    colour = BatchPhotometric(cfg, n)
    colour(batch, 0)  # warm-up
    best = float("inf")
    for step in range(1, 4):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t = time.perf_counter()
        colour(batch, step)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        best = min(best, (time.perf_counter() - t) / n * 1000)
    rows.append([f"colour on the device ({dev.type}, {torch.get_num_threads()} threads, batch {n})",
                 f"{best:.2f} ms", "per image, off the loader"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="shard set (default: generate 500 kml-mixup at 64 px)")
    ap.add_argument("--preset", default="tiny-cpu")
    ap.add_argument("--steps", type=int, default=4, help="steps per loop per round")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds (median ratio)")
    ap.add_argument("--loader-batches", type=int, default=12)
    ap.add_argument("--augment-only", action="store_true",
                    help="only time the multi-crop per image on one core, per backend and "
                         "place of the colour augmentations")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    if args.augment_only:
        print(machine_header({"preset": args.preset, "images": "256 px noise, 1 thread"}))
        print()
        print(format_table(["measure", "per image", "ratio"],
                           augment_cost(args.preset, args.overrides)))
        return

    tmp = tempfile.TemporaryDirectory(prefix="bench-pretrain-")
    data = Path(args.data) if args.data else make_shards(Path(tmp.name) / "shards")
    cfg = load_config(args.preset, ["optim.warmup_epochs=0", *args.overrides])
    trainer = Trainer(cfg, str(data), Path(tmp.name) / "run", progress=False)
    b = trainer.batch
    dev = trainer.dist.device
    gpu = {"gpu": torch.cuda.get_device_name(dev), "bf16": cfg["run"]["bf16"]} \
        if dev.type == "cuda" else {}
    print(machine_header({**gpu,
        "preset": f"{args.preset} {' '.join(args.overrides)}",
        "batch": b, "crops": f"2x{cfg['crops']['global_size']}px + "
                             f"{cfg['crops']['local_number']}x{cfg['crops']['local_size']}px",
        "step": ", ".join(f"{k} {v}" for k, v in trainer.execution().items()),
        "load average (1 min)": f"{os.getloadavg()[0]:.1f}"}))

    loader = make_loader(str(data), cfg, b)
    batches = iter(loader)
    next(batches)  # start the workers
    t0 = time.perf_counter()
    fixed = [next(batches) for _ in range(args.loader_batches)]
    loader_ips = args.loader_batches * b / (time.perf_counter() - t0)

    reference = ReferenceLoop(trainer)
    mean, std = cfg["augment"]["mean"], cfg["augment"]["std"]
    t0 = time.perf_counter()
    trainer.train_step(fixed[0])  # untimed warm-up of each loop: allocator, oneDNN primitives,
    warm_s = time.perf_counter() - t0  # AdamW state, and any torch.compile build
    reference.step(as_reference_input(fixed[0], b, mean, std, dev))
    rounds = step_rounds(trainer, reference, fixed, args.rounds, args.steps, mean, std)
    wall = [r["reference"][0] / r["procmem"][0] for r in rounds]
    cpu = [r["reference"][1] / r["procmem"][1] for r in rounds]
    train_ips = b * args.steps / statistics.median(r["procmem"][0] for r in rounds)
    ref_ips = b * args.steps / statistics.median(r["reference"][0] for r in rounds)

    t0 = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step(next(batches))
    e2e_ips = args.steps * b / (time.perf_counter() - t0)

    print()
    print(format_table(["measure", "img/s", "ratio"], [
        ["data loader alone", loader_ips, f"{loader_ips / train_ips:.1f}x a step's need"],
        ["procmem train step (fixed batches)", train_ips,
         f"**{statistics.median(wall):.2f}x reference** (wall, median of {len(rounds)} rounds)"],
        ["reference dino loop (fixed batches)", ref_ips, "1.00x"],
        ["procmem end to end (loader + step)", e2e_ips, f"{e2e_ips / train_ips:.2f}x step alone"],
    ]))
    print(f"\nper-round ratio, wall: {' '.join(f'{x:.2f}' for x in wall)} (median "
          f"{statistics.median(wall):.2f}x); process CPU time: {' '.join(f'{x:.2f}' for x in cpu)} "
          f"(median {statistics.median(cpu):.2f}x)")
    loads = " ".join(f"{r['load']:.1f}" for r in rounds)
    print(f"load average (1 min) per round: {loads}")
    print(f"procmem's first step (warm-up{', compile included' if trainer.compiled else ''}): "
          f"{warm_s:.1f} s")
    if dev.type == "cuda":
        print(f"\npeak GPU memory: {torch.cuda.max_memory_allocated(dev) / 2**30:.1f} GiB")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
