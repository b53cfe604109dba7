"""Backbones by timm name: the one place a network is created (training and every encoder).

Never pretrained (nothing downloads); `dynamic_img_size=True` lets a ViT take 224 px global
and 96 px local crops with one interpolated position embedding.
"""

from __future__ import annotations

from torch import nn

from procmem.core.errors import ProcmemError


def create_backbone(arch: str, drop_path_rate: float = 0.0, **timm_kwargs) -> nn.Module:
    """A timm model with no classifier (`num_classes=0`): forward(x) -> [B, D] CLS features."""
    import timm

    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch.split('_')[0]}*")[:8]
        raise ProcmemError(f"unknown timm architecture {arch!r}; e.g. {close} "
                           "(set model.arch to a name from timm.list_models())")
    kwargs = dict(num_classes=0, dynamic_img_size=True, drop_path_rate=drop_path_rate)
    kwargs.update(timm_kwargs)
    try:
        return timm.create_model(arch, pretrained=False, **kwargs)
    except TypeError as e:
        raise ProcmemError(f"timm could not build {arch} with {kwargs}: {e} "
                           "(check model.timm_kwargs)") from None


def patch_size_of(backbone: nn.Module) -> int:
    ps = backbone.patch_embed.patch_size
    return int(ps[0] if isinstance(ps, (tuple, list)) else ps)
