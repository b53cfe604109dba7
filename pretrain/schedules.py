"""Per-step schedules of a DINO run: lr, weight decay, teacher momentum, teacher temperature.

Each is a NumPy array indexed by the global step (DINO's `utils.cosine_scheduler`), so a
resumed run reads exactly the values an uninterrupted run would have used at that step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def cosine_scheduler(base: float, final: float, epochs: int, steps_per_epoch: int,
                     warmup_epochs: int = 0, start_warmup: float = 0.0) -> np.ndarray:
    """Linear warm-up from `start_warmup` to `base`, then half a cosine from `base` to `final`.

    Caron et al. 2021 (dino utils.cosine_scheduler): value_i = final + (base - final)
    * (1 + cos(pi i / n)) / 2 over the n post-warm-up steps.
    """
    warmup_iters = warmup_epochs * steps_per_epoch
    warmup = np.linspace(start_warmup, base, warmup_iters) if warmup_iters > 0 else np.array([])
    iters = np.arange(epochs * steps_per_epoch - warmup_iters)
    n = max(len(iters), 1)
    cosine = final + 0.5 * (base - final) * (1 + np.cos(np.pi * iters / n))
    out = np.concatenate((warmup, cosine))
    assert len(out) == epochs * steps_per_epoch
    return out


def teacher_temp_schedule(warmup_temp: float, temp: float, warmup_epochs: int,
                          epochs: int) -> np.ndarray:
    """Per-epoch teacher temperature: linear warm-up then constant (dino DINOLoss)."""
    return np.concatenate((np.linspace(warmup_temp, temp, warmup_epochs),
                           np.ones(epochs - warmup_epochs) * temp))


@dataclass
class Schedules:
    """Every schedule of one run, built from its config and world size."""

    lr: np.ndarray
    wd: np.ndarray
    momentum: np.ndarray
    teacher_temp: np.ndarray  # per epoch
    steps_per_epoch: int

    @classmethod
    def from_config(cls, cfg: dict) -> "Schedules":
        o, s, lo = cfg["optim"], cfg["schedule"], cfg["loss"]
        epochs, spe = s["epochs"], s["steps_per_epoch"]
        lr = o["lr"] * o["batch_size"] / 256.0  # linear scaling rule (Goyal et al. 2017)
        return cls(
            lr=cosine_scheduler(lr, o["min_lr"], epochs, spe, warmup_epochs=o["warmup_epochs"]),
            wd=cosine_scheduler(o["weight_decay"], o["weight_decay_end"], epochs, spe),
            momentum=cosine_scheduler(o["momentum_teacher"], o["momentum_teacher_end"], epochs, spe),
            teacher_temp=teacher_temp_schedule(lo["warmup_teacher_temp"], lo["teacher_temp"],
                                               lo["warmup_teacher_temp_epochs"], epochs),
            steps_per_epoch=spe,
        )

    def at(self, step: int) -> dict[str, float]:
        """The values used at global step `step` (0-based)."""
        return {"lr": float(self.lr[step]), "wd": float(self.wd[step]),
                "momentum": float(self.momentum[step]),
                "teacher_temp": float(self.teacher_temp[step // self.steps_per_epoch])}
