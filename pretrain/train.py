"""The DINO training loop (Caron et al. 2021, Alg. 1 and dino's main_dino.train_one_epoch).

Per step: set lr / weight decay from the schedules, teacher sees the 2 global crops,
student sees all crops, DINO loss (centre updated), stop at once on a non-finite loss,
backward, per-parameter clipping, last layer frozen in the first epoch, AdamW (or SGD) step,
teacher EMA. One process on CPU or one GPU, or DDP under torchrun (NCCL on CUDA, gloo on CPU).
Rerunning the same command in the same run directory resumes from its checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

import procmem
from procmem.core.atomic import atomic_write_json, atomic_write_text, sweep_temporaries
from procmem.core.errors import ProcmemError
from procmem.encoder.encoder import Encoder
from procmem.encoder.preprocess import normalize
from procmem.pretrain import config as config_mod
from procmem.pretrain.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from procmem.pretrain.curves import plot_curves
from procmem.pretrain.data import DataError, data_provenance, make_loader, worker_message
from procmem.pretrain.loss import DINOLoss, KoLeoLoss
from procmem.pretrain.metrics import MetricsLog
from procmem.pretrain.model import build_student_teacher
from procmem.pretrain.photometric import BatchPhotometric
from procmem.pretrain.runtime import (
    autocast,
    choose_threads,
    compile_backbones,
    cpu_bf16_wanted,
    unfuse_attention,
)
from procmem.pretrain.schedules import Schedules
from procmem.pretrain.update import (
    apply_schedule,
    cancel_last_layer_grads,
    clip_gradients,
    ema_update,
    param_groups,
)

# Config keys that may change between a run and its resumption (they change no schedule).
RESUMABLE_KEYS = ("schedule.max_steps", "run.", "data.", "probe.")
RUN_INFO_NAME = "run.json"
GPU_RECIPE_ON_CPU = (
    "no CUDA device is visible, and this config is a GPU recipe (run.device=cuda: the built-in "
    "defaults and paper-vits16 are the paper's ViT-S/16 at batch 512, hours per epoch on a "
    "GPU, out of memory or stalled on a CPU); on a CPU use --preset tiny-cpu, or run this one "
    "here anyway with --allow-cpu (run.device=cpu)")


class TrainingError(ProcmemError):
    """A run that cannot start, resume or continue."""


@dataclass
class DistInfo:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_pref: str) -> DistInfo:
    """Join the torchrun process group when WORLD_SIZE > 1 (NCCL on CUDA, else gloo)."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_pref == "cuda" or (device_pref == "auto" and torch.cuda.is_available())
    if device_pref == "cuda" and not torch.cuda.is_available():
        raise TrainingError(GPU_RECIPE_ON_CPU)
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local_rank, device)


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two configs."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b, key = old.get(k), new.get(k), f"{prefix}{k}"
        if isinstance(a, dict) and isinstance(b, dict) and k != "timm_kwargs":
            out += config_changes(a, b, key + ".")
        elif a != b:
            out.append(key)
    return out


def recipe_changes(old: dict, new: dict) -> list[str]:
    """The changed config keys that stop a run from resuming (all but RESUMABLE_KEYS).

    A key added to the defaults after `old` was saved counts as its default there, so a run
    resumes across a procmem upgrade unless it is asked to use the new option."""
    old = config_mod.with_defaults(old)
    return [k for k in config_changes(old, new) if not k.startswith(RESUMABLE_KEYS)]


def resumable_under(out_dir: str | Path, cfg: dict, data_spec: str) -> bool:
    """Whether the run started in `out_dir` (if any) would resume under `cfg` and `data_spec`,
    read from its config.yaml and run.json without loading weights: the Trainer's own test."""
    out = Path(out_dir)
    saved, info = out / "config.yaml", out / RUN_INFO_NAME
    if not saved.is_file():
        return True
    if recipe_changes(yaml.safe_load(saved.read_text()) or {}, cfg):
        return False
    if info.is_file():
        return json.loads(info.read_text())["provenance"] == data_provenance(data_spec, cfg)
    return True


def make_optimizer(name: str, groups: list[dict], fused: bool = False) -> torch.optim.Optimizer:
    """dino's optimisers: AdamW (its default, for ViTs) or SGD with momentum 0.9 (its choice
    for ResNets); the schedules set lr and weight decay every step. `fused`: torch's fused CUDA
    AdamW, the same update in one launch per group."""
    if name == "sgd":
        return torch.optim.SGD(groups, lr=0.0, momentum=0.9)
    return torch.optim.AdamW(groups, fused=fused)


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class Trainer:
    """Everything one DINO run holds: networks, loss, optimiser, schedules, position."""

    def __init__(self, cfg: dict, data_spec: str, out_dir: str | Path, tensorboard: bool = True,
                 progress: bool = True, probe=None):
        self.out = Path(out_dir)
        self.ckpt_path = self.out / CHECKPOINT_NAME
        self.data_spec = data_spec
        self.progress = progress
        self.tensorboard = tensorboard
        self.dist = setup_distributed(cfg["run"]["device"])
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(choose_threads(cfg["run"]["threads"], local_world))
        if self.dist.is_main and self.out.is_dir():
            sweep_temporaries(self.out)  # half-written checkpoints of a killed run (128 MB each)
        state = load_checkpoint(self.ckpt_path) if self.ckpt_path.exists() else None
        if state is not None:
            changed = recipe_changes(state["config"], cfg)
            if changed:
                raise TrainingError(
                    f"run {self.out} was started with a different config ({', '.join(changed)}); "
                    "rerun with the original settings to resume, or give a new --out")
        self.cfg = cfg
        self.provenance = data_provenance(data_spec, cfg)
        if state is not None and state["provenance"] != self.provenance:
            raise TrainingError(f"run {self.out} learned from {state['provenance']}, not "
                                f"{self.provenance}; give the original --data or a new --out")
        world = self.dist.world
        gbatch = cfg["optim"]["batch_size"]
        if gbatch % world:
            raise TrainingError(f"optim.batch_size={gbatch} is not divisible by the {world} "
                                "processes; pick a multiple")
        self.batch = gbatch // world
        self.total = config_mod.total_steps(cfg)
        self.sched = Schedules.from_config(cfg)

        _seed_all(cfg["run"]["seed"])  # identical initial weights on every rank
        self.student, self.teacher = build_student_teacher(cfg)
        self.student.to(self.dist.device)
        self.teacher.to(self.dist.device)
        self.cpu_bf16 = self.dist.device.type == "cpu" and cpu_bf16_wanted(cfg["run"]["cpu_precision"])
        if self.cpu_bf16:
            unfuse_attention(self.student, self.teacher)
        self.compiled = bool(cfg["run"]["compile"]) and compile_backbones(
            cfg["run"]["compile"], self.dist.device, self.student, self.teacher)
        ncrops = 2 + cfg["crops"]["local_number"]
        lo = cfg["loss"]
        self.loss = DINOLoss(cfg["model"]["out_dim"], ncrops, lo["student_temp"],
                             lo["center_momentum"], centering=lo["centering"]).to(self.dist.device)
        self.koleo = KoLeoLoss() if lo["koleo_weight"] > 0 else None
        self.photometric = (BatchPhotometric(cfg, self.batch, cfg["run"]["seed"], self.dist.rank)
                            if cfg["augment"]["photometric"] == "device" else None)
        self.optimizer = make_optimizer(cfg["optim"]["optimizer"], param_groups(self.student),
                                        fused=self.dist.device.type == "cuda")
        self.step = 0
        if state is not None:
            self.student.load_state_dict(state["student"])
            self.teacher.load_state_dict(state["teacher"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.loss.center.copy_(state["loss_center"])
            self.step = int(state["step"])
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.dist.local_rank] if self.dist.device.type == "cuda" else None
            self.student_ddp = DDP(self.student, device_ids=ids)
        else:
            self.student_ddp = self.student
        # Per-rank randomness (augmentation, drop path): restored exactly for one process.
        if state is not None and world == 1:
            set_rng_state(state["rng"])
        else:
            _seed_all(cfg["run"]["seed"] + 1000 * self.dist.rank + 7919 * self.step + 1)
        self.resumed_from = self.step if state is not None else None
        self.log: MetricsLog | None = None
        # probe(encoder) -> accuracy, every probe.every steps; given by the caller (real images
        # are the evaluation's: procmem.eval.probe.probe_from_config builds dino's kNN probe)
        self.probe = probe if cfg["probe"]["every"] > 0 and self.dist.is_main else None

    @property
    def epoch(self) -> int:
        return self.step // self.cfg["schedule"]["steps_per_epoch"]

    def encoder_meta(self) -> dict:
        m, a = self.cfg["model"], self.cfg["augment"]
        return Encoder.describe(self.teacher.backbone, m["arch"], m["timm_kwargs"],
                                self.cfg["crops"]["global_size"], a["mean"], a["std"],
                                readout=m.get("readout", "cls"),
                                patch_image_size=m.get("patch_image_size", 0))

    def checkpoint(self) -> None:
        if not self.dist.is_main:
            return
        save_checkpoint(self.ckpt_path, {
            "student": self.student.state_dict(), "teacher": self.teacher.state_dict(),
            "optimizer": self.optimizer.state_dict(), "loss_center": self.loss.center.cpu(),
            "step": self.step, "epoch": self.epoch, "config": self.cfg,
            "provenance": self.provenance, "rng": rng_state(),
            # resampled shards are an endless random draw: position = images consumed so far
            "data": {"samples_seen": self.step * self.cfg["optim"]["batch_size"]},
            "encoder": self.encoder_meta(), "procmem_version": procmem.__version__,
        })
        if self.log is not None:
            self.log.flush()
            plot_curves(self.out)

    def autocast(self):
        """bf16 autocast on CUDA when run.bf16, on CPU when run.cpu_precision is active here."""
        return autocast(self.dist.device, self.cfg["run"]["bf16"], self.cpu_bf16)

    def execution(self) -> dict:
        """How this process runs the step (threads, precision, compile): saved in run.json."""
        precision = "bf16" if (self.cpu_bf16 or (self.dist.device.type == "cuda"
                                                 and self.cfg["run"]["bf16"])) else "fp32"
        return {"device": str(self.dist.device), "threads": torch.get_num_threads(),
                "precision": precision, "compiled": self.cfg["run"]["compile"] if self.compiled else ""}

    def train_step(self, crops: list[torch.Tensor]) -> tuple[float, dict]:
        """One DINO update on a multi-crop batch (uint8 tensors, one per crop size)."""
        cfg, dev = self.cfg, self.dist.device
        # the online probe's Encoder puts the teacher in eval mode; a BatchNorm teacher left
        # there would stop updating its statistics for the rest of the run
        self.student.train()
        self.teacher.train()
        vals = self.sched.at(self.step)
        apply_schedule(self.optimizer, vals["lr"], vals["wd"])
        mean, std = cfg["augment"]["mean"], cfg["augment"]["std"]
        crops = [c.to(dev, non_blocking=True) for c in crops]
        if self.photometric is not None:
            crops = self.photometric(crops, self.step)
        crops = [normalize(c, mean, std) for c in crops]
        with self.autocast():
            with torch.no_grad():
                teacher_out = self.teacher([crops[0][: 2 * self.batch]])
            koleo = None
            if self.koleo is None:
                student_out = self.student_ddp(crops)
            else:  # DINOv2: KoLeo on each global view's CLS features, summed over the views
                student_out, feats = self.student_ddp(crops, with_features=True)
                koleo = sum(self.koleo(g) for g in feats[: 2 * self.batch].chunk(2))
            loss = self.loss(student_out, teacher_out, vals["teacher_temp"])
            if koleo is not None:
                loss = loss + cfg["loss"]["koleo_weight"] * koleo
        loss_value = loss.item()  # the step's one host sync; KoLeo's value is ready after it
        if koleo is not None:
            vals["koleo"] = koleo.item()
        if not math.isfinite(loss_value):
            raise TrainingError(
                f"loss is {loss_value} at step {self.step} (epoch {self.epoch}); stopped before "
                f"the update. The last checkpoint (if any) is {self.ckpt_path}. Try a lower optim.lr, "
                "a longer optim.warmup_epochs, optim.clip_grad, or run.bf16=false")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg["optim"]["clip_grad"] > 0:
            clip_gradients(self.student, cfg["optim"]["clip_grad"])
        cancel_last_layer_grads(self.student, self.epoch, cfg["optim"]["freeze_last_layer"])
        self.optimizer.step()
        ema_update(self.teacher, self.student, vals["momentum"])
        self.step += 1
        return loss_value, vals

    def run(self) -> dict:
        """Train until the last step; checkpoint every N steps and at the end."""
        from procmem.core.progress import progress

        cfg = self.cfg
        main = self.dist.is_main
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "config.yaml", config_mod.dump(cfg))
            atomic_write_json(self.out / RUN_INFO_NAME, {
                "data": self.data_spec, "provenance": self.provenance,
                "world_size": self.dist.world, "execution": self.execution(),
                "procmem_version": procmem.__version__})
        if self.step >= self.total:
            return {"step": self.step, "resumed_from": self.resumed_from, "final_loss": None,
                    "rank": self.dist.rank}
        log = self.log = MetricsLog(self.out, self.step, tensorboard=self.tensorboard) if main else None
        loader = make_loader(self.data_spec, cfg, self.batch, pin_memory=self.dist.device.type == "cuda",
                             start_step=self.step, device=self.dist.device)
        bar = progress(total=self.total, initial=self.step, disable=not (main and self.progress),
                       desc="DINO", unit="step", log=self.out / "train.log" if main else None)
        every_ckpt, every_log = cfg["run"]["checkpoint_every"], cfg["run"]["log_every"]
        every_probe = cfg["probe"]["every"]
        loss_value = None
        batches = iter(loader)
        try:
            t_prev = time.perf_counter()
            while self.step < self.total:
                t0 = time.perf_counter()
                try:
                    crops = next(batches)
                except DataError as e:  # from a loader worker: keep the message, not its traceback
                    raise DataError(worker_message(e)) from None
                wait = time.perf_counter() - t0
                loss_value, vals = self.train_step(crops)
                now = time.perf_counter()
                step_time, t_prev = now - t_prev, now
                bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{vals['lr']:.2e}")
                bar.update(1)  # after the postfix: a plain line carries this step's loss
                if log is not None and (self.step % every_log == 0 or self.step == self.total):
                    log.log(self.step, {"loss": loss_value, **vals, "epoch": self.epoch,
                                        "img_per_s": cfg["optim"]["batch_size"] / step_time,
                                        "data_wait_s": wait})
                if self.probe is not None and self.step % every_probe == 0:
                    acc = self.probe(Encoder(self.teacher.backbone, self.encoder_meta(),
                                             f"step:{self.step}", str(self.dist.device)))
                    log.log(self.step, {"probe_knn_top1": acc})
                if self.step % every_ckpt == 0 and self.step < self.total:
                    self.checkpoint()
            self.checkpoint()
        finally:
            bar.close()
            if log is not None:
                log.close()
                self.log = None
        return {"step": self.step, "resumed_from": self.resumed_from, "final_loss": loss_value,
                "rank": self.dist.rank}


def pretrain(cfg: dict, data_spec: str, out_dir: str | Path, progress: bool = True,
             probe=None) -> dict:
    """Build a Trainer and run it; the process group (if any) is closed afterwards."""
    import torch.distributed as dist

    try:
        return Trainer(cfg, data_spec, out_dir, progress=progress, probe=probe).run()
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
