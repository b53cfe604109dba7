"""The DINO networks: a timm backbone, the projection head, and the multi-crop wrapper.

Caron et al. 2021, Sec. 3.1 and dino's vision_transformer.DINOHead / utils.MultiCropWrapper.
The backbone is created by name from timm's registry (never pretrained: nothing downloads):
a ViT with `dynamic_img_size=True` so 224 px global and 96 px local crops share one position
embedding, interpolated; a convnet (dino trains ResNets too) as it is, at any input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from procmem.encoder.backbone import create_backbone


class DINOHead(nn.Module):
    """MLP (GELU) -> L2-normalised bottleneck -> weight-normalised linear layer to out_dim.

    dino vision_transformer.DINOHead: trunc-normal(0.02) init, weight_g filled with 1 and,
    when `norm_last_layer`, frozen there, so the last layer's rows stay unit-norm. `use_bn`:
    BatchNorm after each hidden Linear (dino's --use_bn_in_head, off by default there too).
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int = 2048,
                 bottleneck_dim: int = 256, nlayers: int = 3, norm_last_layer: bool = True,
                 use_bn: bool = False):
        super().__init__()
        nlayers = max(nlayers, 1)

        def hidden(width_in: int) -> list[nn.Module]:
            bn = [nn.BatchNorm1d(hidden_dim)] if use_bn else []
            return [nn.Linear(width_in, hidden_dim), *bn, nn.GELU()]

        if nlayers == 1:
            self.mlp = nn.Linear(in_dim, bottleneck_dim)
        else:
            layers: list[nn.Module] = hidden(in_dim)
            for _ in range(nlayers - 2):
                layers += hidden(hidden_dim)
            layers.append(nn.Linear(hidden_dim, bottleneck_dim))
            self.mlp = nn.Sequential(*layers)
        self.apply(self._init_weights)
        self.last_layer = nn.utils.parametrizations.weight_norm(
            nn.Linear(bottleneck_dim, out_dim, bias=False))
        g = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            g.fill_(1.0)
        if norm_last_layer:
            g.requires_grad_(False)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mlp(x)
        x = F.normalize(x, dim=-1, p=2)
        return self.last_layer(x)


class MultiCropWrapper(nn.Module):
    """Runs the backbone once per crop size (one tensor per size) and the head on all outputs.

    `forward(crops)` takes a list of tensors, each [n_views * B, 3, S, S] for one size S, and
    returns [sum(n_views) * B, out_dim] in the same view-major order (dino utils.MultiCropWrapper).
    """

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, crops: list[torch.Tensor], with_features: bool = False):
        """Head outputs; with `with_features`, also the backbone's [N, D] features (KoLeo)."""
        feats = torch.cat([self.backbone(x) for x in crops])
        out = self.head(feats)
        return (out, feats) if with_features else out


def build_student_teacher(cfg: dict) -> tuple[MultiCropWrapper, MultiCropWrapper]:
    """Student (drop path) and teacher (same architecture, no drop path), teacher = student.

    The teacher gets no gradients; it moves only by the EMA of the student (Sec. 3.1).
    """
    m = cfg["model"]
    kw = dict(m["timm_kwargs"])
    student_bb = create_backbone(m["arch"], drop_path_rate=m["drop_path_rate"], **kw)
    teacher_bb = create_backbone(m["arch"], drop_path_rate=0.0, **kw)
    dim = student_bb.num_features
    head_kw = dict(hidden_dim=m["hidden_dim"], bottleneck_dim=m["bottleneck_dim"],
                   nlayers=m["head_layers"], norm_last_layer=m["norm_last_layer"],
                   use_bn=m["head_bn"])
    student = MultiCropWrapper(student_bb, DINOHead(dim, m["out_dim"], **head_kw))
    teacher = MultiCropWrapper(teacher_bb, DINOHead(dim, m["out_dim"], **head_kw))
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad_(False)
    return student, teacher

