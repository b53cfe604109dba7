"""How one DINO step changes the weights: decay groups, clipping, last-layer freeze, teacher EMA.

Each function is dino's `utils` counterpart (get_params_groups, clip_gradients,
cancel_gradients_last_layer) or its main loop's EMA update (Caron et al. 2021, Sec. 3.1:
theta_t <- lambda theta_t + (1 - lambda) theta_s).
"""

from __future__ import annotations

import torch
from torch import nn


def param_groups(model: nn.Module) -> list[dict]:
    """Two AdamW groups: weights (decayed) first, then biases and norm parameters (never)."""
    regularized, not_regularized = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.endswith(".bias") or p.ndim == 1:
            not_regularized.append(p)
        else:
            regularized.append(p)
    return [{"params": regularized}, {"params": not_regularized, "weight_decay": 0.0}]


def apply_schedule(optimizer: torch.optim.Optimizer, lr: float, wd: float) -> None:
    """Set this step's lr on every group and weight decay on the first (decayed) group only."""
    for i, group in enumerate(optimizer.param_groups):
        group["lr"] = lr
        if i == 0:
            group["weight_decay"] = wd


def clip_gradients(model: nn.Module, clip: float) -> torch.Tensor | None:
    """Scale each parameter's gradient to norm <= clip, independently (dino's clip_gradients).

    Not torch's global-norm clipping: each tensor on its own. Returns the pre-clipping norms
    (one tensor, no host sync, so it stays cheap on a GPU).
    """
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return None
    norms = torch.stack(torch._foreach_norm(grads, 2))
    coefs = torch.clamp(clip / (norms + 1e-6), max=1.0)
    torch._foreach_mul_(grads, list(coefs.unbind()))
    return norms


def cancel_last_layer_grads(model: nn.Module, epoch: int, freeze_last_layer: int) -> None:
    """Drop the head's last-layer gradients during the first `freeze_last_layer` epochs.

    dino: "freezing the output layer during the first epoch helps training" (its --help).
    """
    if epoch >= freeze_last_layer:
        return
    for name, p in model.named_parameters():
        if "last_layer" in name:
            p.grad = None


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """theta_t <- m theta_t + (1 - m) theta_s for every parameter (buffers are not averaged)."""
    t_params = list(teacher.parameters())
    s_params = [p.detach() for p in student.parameters()]
    if len(t_params) != len(s_params):
        raise RuntimeError("teacher and student have different parameter lists")
    torch._foreach_mul_(t_params, momentum)
    torch._foreach_add_(t_params, s_params, alpha=1.0 - momentum)
