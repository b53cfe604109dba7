"""Backbones by timm name: the one place a network is created (training and every encoder).

Never pretrained (nothing downloads); `dynamic_img_size=True` lets a ViT take 224 px global
and 96 px local crops with one interpolated position embedding (networks without that
option, such as ResNets, are built without it).
"""

from __future__ import annotations

import re

from torch import nn

from procmem.core.errors import ProcmemError

_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")


def create_backbone(arch: str, drop_path_rate: float = 0.0, optional: tuple[str, ...] = (),
                    **timm_kwargs) -> nn.Module:
    """A timm model with no classifier (`num_classes=0`): forward(x) -> [B, D] CLS features.

    Keyword arguments named in `optional` (and procmem's own `dynamic_img_size`) are dropped
    when the architecture does not take them; the model's `procmem_kwargs` are those it took.
    """
    import timm

    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch.split('_')[0]}*")[:8]
        raise ProcmemError(f"unknown timm architecture {arch!r}; e.g. {close} "
                           "(set model.arch to a name from timm.list_models())")
    kwargs = dict(num_classes=0, dynamic_img_size=True, drop_path_rate=drop_path_rate)
    kwargs.update(timm_kwargs)
    droppable = set(optional) | ({"dynamic_img_size"} - set(timm_kwargs))
    while True:
        try:
            model = timm.create_model(arch, pretrained=False, **kwargs)
        except TypeError as e:
            m = _UNEXPECTED.search(str(e))
            if m and m.group(1) in droppable and m.group(1) in kwargs:
                del kwargs[m.group(1)]
                continue
            raise ProcmemError(f"timm could not build {arch} with {kwargs}: {e} "
                               "(check model.timm_kwargs)") from None
        model.procmem_kwargs = {k: v for k, v in timm_kwargs.items() if k in kwargs}
        return model


def patch_size_of(backbone: nn.Module) -> int:
    """A ViT's patch side; for a convolutional network, the stride of its last feature map."""
    if hasattr(backbone, "patch_embed"):
        ps = backbone.patch_embed.patch_size
        return int(ps[0] if isinstance(ps, (tuple, list)) else ps)
    info = getattr(backbone, "feature_info", None)
    if info:
        return int(info[-1]["reduction"])
    raise ProcmemError(f"{type(backbone).__name__} has neither patches nor a feature stride")
