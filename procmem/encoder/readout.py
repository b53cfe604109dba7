"""Read-outs: how a backbone's last layer becomes the one vector an encoder returns.

- `cls` (the papers' and dino's eval_knn.py): the backbone's own pooled feature, a ViT's CLS
  token or a convnet's global average pool (with timm's head norm).
- `grid2`, `grid4` (procmem options): the pooled feature followed by the last feature map (a
  ViT's patch tokens) average-pooled to a 2 x 2 (4 x 4) grid, each part L2-normalised, so a
  vector keeps where in the image a feature was seen. 5 (17) x the width. Issue 17 measured
  them: at 64 px a convnext_atto teacher's kNN on CIFAR-10 rises from 30.6 to 40.3% with
  grid2 (its last map is 2 x 2); a ViT-Ti/8's (8 x 8 tokens) from 34.8 with grid2 to 38.0%
  with grid4 (docs/benchmarks.md).

The result is not normalised here: `Encoder.embed` L2-normalises every read-out alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a read-out runs: the config only needs the names
    import torch

READOUTS = ("cls", "grid2", "grid4")


def check_readout(name) -> str:
    if name not in READOUTS:
        raise ValueError(f"unknown read-out {name!r}: give one of {', '.join(READOUTS)} "
                         "(model.readout, or `procmem pretrain export --readout`)")
    return name


def fingerprint_suffix(readout: str) -> str:
    """What a read-out adds to an encoder's fingerprint: nothing for cls (so older memories and
    caches keep theirs), `:readout=<name>` otherwise (the same weights give other vectors)."""
    return "" if check_readout(readout) == "cls" else f":readout={readout}"


def grid_side(readout: str) -> int:
    """The cells per side of a grid read-out (0 for cls)."""
    return 0 if check_readout(readout) == "cls" else int(readout.removeprefix("grid"))


def readout_dim(embed_dim: int, readout: str) -> int:
    """The width of the vector a read-out gives from a backbone `embed_dim` wide."""
    return int(embed_dim) * (1 + grid_side(readout) ** 2)


def feature_map(model: torch.nn.Module, features: torch.Tensor) -> torch.Tensor:
    """[B, D, h, w] from `forward_features`: a convnet's map as it is, a ViT's patch tokens
    (prefix tokens dropped) laid out on their square grid."""
    if features.ndim == 4:
        return features
    tokens = features[:, getattr(model, "num_prefix_tokens", 1):]
    side = int(round(tokens.shape[1] ** 0.5))
    if side * side != tokens.shape[1]:
        raise ValueError(f"{tokens.shape[1]} patch tokens do not make a square grid")
    return tokens.transpose(1, 2).reshape(len(tokens), -1, side, side)


def read_out(model: torch.nn.Module, x: torch.Tensor, readout: str = "cls") -> torch.Tensor:
    """[B, readout_dim] from a batch of preprocessed images."""
    import torch
    import torch.nn.functional as F

    if check_readout(readout) == "cls":
        return model(x)
    features = model.forward_features(x)
    pooled = F.normalize(model.forward_head(features).float(), dim=-1)
    cells = F.adaptive_avg_pool2d(feature_map(model, features).float(),
                                  grid_side(readout)).flatten(2)
    return torch.cat([pooled, F.normalize(cells, dim=1).flatten(1)], dim=1)
