"""The DINO loss: cross-entropy between the centred, sharpened teacher and the student.

Caron et al. 2021, Eq. (1)-(4) and dino's main_dino.DINOLoss:
H(Pt(x), Ps(x')) summed over teacher views x in the 2 global crops and student views
x' != x, with Pt = softmax((gt - c) / tau_t), Ps = softmax(gs / tau_s), and the centre c
an EMA (momentum m) of the teacher's batch mean, all-reduced across processes.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


class DINOLoss(nn.Module):
    def __init__(self, out_dim: int, ncrops: int, student_temp: float = 0.1,
                 center_momentum: float = 0.9, n_global: int = 2):
        super().__init__()
        self.ncrops = ncrops
        self.n_global = n_global
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.register_buffer("center", torch.zeros(1, out_dim))

    def forward(self, student_out: torch.Tensor, teacher_out: torch.Tensor,
                teacher_temp: float) -> torch.Tensor:
        """student_out [ncrops*B, K], teacher_out [n_global*B, K] (view-major) -> scalar loss.

        Also updates the centre from `teacher_out` (after the loss is computed, as dino does).
        """
        student = (student_out.float() / self.student_temp).chunk(self.ncrops)
        teacher_f = teacher_out.float().detach()
        teacher = F.softmax((teacher_f - self.center) / teacher_temp, dim=-1).chunk(self.n_global)
        total, n = 0.0, 0
        for iq, q in enumerate(teacher):
            for v in range(len(student)):
                if v == iq:
                    continue  # the same view seen by both networks
                total = total + torch.sum(-q * F.log_softmax(student[v], dim=-1), dim=-1).mean()
                n += 1
        self.update_center(teacher_f)
        return total / n

    @torch.no_grad()
    def update_center(self, teacher_out: torch.Tensor) -> None:
        """c <- m c + (1 - m) mean(teacher_out), the mean taken over every process's batch."""
        batch_center = teacher_out.sum(dim=0, keepdim=True)
        world = 1
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(batch_center)
            world = dist.get_world_size()
        batch_center = batch_center / (len(teacher_out) * world)
        self.center.mul_(self.center_momentum).add_(batch_center * (1 - self.center_momentum))
