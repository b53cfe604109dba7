"""The DINO loss: cross-entropy between the centred, sharpened teacher and the student.

Caron et al. 2021, Eq. (1)-(4) and dino's main_dino.DINOLoss:
H(Pt(x), Ps(x')) summed over teacher views x in the 2 global crops and student views
x' != x, with Pt = softmax((gt - c) / tau_t), Ps = softmax(gs / tau_s), and the centre c
an EMA (momentum m) of the teacher's batch mean, all-reduced across processes.

Two named departures from DINO, both from DINOv2 (Oquab et al. 2023), both off by default:
- `centering="sinkhorn"`: the teacher's targets come from 3 Sinkhorn-Knopp iterations
  (SwAV's equipartition over the batch, dinov2's SinkhornKnoppTeacher) instead of the
  centre, so targets stay distinct per image even while the features are still alike.
- `KoLeoLoss`: the Kozachenko-Leonenko entropy estimator on the student's global-crop CLS
  features (-mean log distance to each one's nearest neighbour in the batch), which spreads
  them over the sphere and keeps the features from collapsing onto a few directions.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from procmem.pretrain.config import CENTERINGS


class DINOLoss(nn.Module):
    def __init__(self, out_dim: int, ncrops: int, student_temp: float = 0.1,
                 center_momentum: float = 0.9, n_global: int = 2, centering: str = "center",
                 sinkhorn_iterations: int = 3):
        super().__init__()
        if centering not in CENTERINGS:
            raise ValueError(f"centering must be one of {CENTERINGS}, got {centering!r}")
        self.centering = centering
        self.sinkhorn_iterations = sinkhorn_iterations
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
        if self.centering == "sinkhorn":
            teacher = sinkhorn_knopp(teacher_f, teacher_temp, self.sinkhorn_iterations)
        else:
            teacher = F.softmax((teacher_f - self.center) / teacher_temp, dim=-1)
        teacher = teacher.chunk(self.n_global)
        total, n = 0.0, 0
        for iq, q in enumerate(teacher):
            for v in range(len(student)):
                if v == iq:
                    continue  # the same view seen by both networks
                total = total + torch.sum(-q * F.log_softmax(student[v], dim=-1), dim=-1).mean()
                n += 1
        if self.centering == "center":
            self.update_center(teacher_f)
        return total / n

    @torch.no_grad()
    def update_center(self, teacher_out: torch.Tensor) -> None:
        """c <- m c + (1 - m) mean(teacher_out), the mean taken over every process's batch."""
        batch_center = _all_reduce(teacher_out.sum(dim=0, keepdim=True))
        batch_center = batch_center / (len(teacher_out) * _world_size())
        self.center.mul_(self.center_momentum).add_(batch_center * (1 - self.center_momentum))


def _world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t)
    return t


@torch.no_grad()
def sinkhorn_knopp(teacher_out: torch.Tensor, teacher_temp: float, iterations: int = 3) -> torch.Tensor:
    """[B, K] logits -> [B, K] targets, each row a distribution, the K prototypes equally used
    across the whole (all-reduced) batch: dinov2's SinkhornKnoppTeacher.sinkhorn_knopp_teacher."""
    logits = teacher_out.float() / teacher_temp
    q = torch.exp(logits - logits.max()).t()  # [K, B]; the shift cancels in the normalisation
    n, k = q.shape[1] * _world_size(), q.shape[0]
    q /= _all_reduce(q.sum())
    for _ in range(iterations):
        q /= _all_reduce(q.sum(dim=1, keepdim=True))  # each prototype gets 1/K of the mass
        q /= k
        q /= q.sum(dim=0, keepdim=True)  # each sample gets 1/B
        q /= n
    q *= n
    return q.t()


class KoLeoLoss(nn.Module):
    """Kozachenko-Leonenko differential-entropy regulariser (Sablayrolles et al. 2019, as in
    dinov2's KoLeoLoss): -mean_i log ||x_i - x_nn(i)|| over L2-normalised features [B, D]."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = F.normalize(features.float(), dim=-1, p=2, eps=self.eps)
        with torch.no_grad():
            sims = x @ x.t()
            sims.fill_diagonal_(-2.0)  # never one's own neighbour
            nearest = sims.argmax(dim=1)
        distances = F.pairwise_distance(x, x[nearest], p=2, eps=self.eps)
        return -torch.log(distances + self.eps).mean()
