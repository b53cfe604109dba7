"""Where the backbone's weights sit inside other projects' checkpoints: plain functions from
a loaded checkpoint (procmem.encoder.checkpoint) to a timm state dict.

- dino (facebookresearch/dino main_dino.py, and forks that save the same dict, such as the
  procedural-data paper's, Rodriguez-Munoz et al. 2025): `checkpoint.pth` holds `student`,
  `teacher`, `optimizer`, `epoch`, `args` (an `argparse.Namespace` with `arch`,
  `patch_size`, ...), `dino_loss`; weights under `module.` (DDP) and `backbone.` (the
  multi-crop wrapper), the projection head under `head.`. eval_knn.py strips both prefixes
  and reads `--checkpoint_key teacher` by default; so does `dino_backbone`.
- MoCo v1/v2 (facebookresearch/moco, and shaders21k's released ResNet-50 encoders, Baradad
  et al. 2022): `state_dict` with the query encoder under `module.encoder_q.`, its `fc` the
  projection head; MoCo v3 (facebookresearch/moco-v3): `module.base_encoder.`. main_lincls.py
  keeps the encoder up to `fc`; so does `moco_backbone`.
- timm (`.pth` from timm's train.py or a plain `state_dict`): the tensors, or `state_dict` /
  `model` / `state_dict_ema` inside the dict, `module.` stripped, the classifier dropped.
"""

from __future__ import annotations

import argparse

from procmem.encoder.errors import EncoderError

DINO_KEYS = ("teacher", "student")
DINO_VITS = ("vit_tiny", "vit_small", "vit_base")  # dino's vision_transformer.py = timm's ViTs
MOCO_PREFIXES = ("encoder_q.", "base_encoder.")
MOCO_ARCHS = ("resnet", "resnext", "wide_resnet")  # torchvision names; timm's keys are the same


def is_tensor_dict(obj) -> bool:
    import torch

    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def strip_prefix(state: dict, prefix: str) -> dict:
    """The entries whose key starts with `prefix`, with the prefix removed."""
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def without_module(state: dict) -> dict:
    """DistributedDataParallel's `module.` removed from every key that carries it."""
    return {k.removeprefix("module."): v for k, v in state.items()}


def _prefixes(state: dict, n: int = 6) -> list[str]:
    seen = []
    for k in state:
        head = k.split(".")[0] + "."
        if head not in seen:
            seen.append(head)
    return seen[:n]


def _keys(obj) -> str:
    return ", ".join(map(str, list(obj)[:10])) if isinstance(obj, dict) else type(obj).__name__


def dino_backbone(ckpt, key: str = "teacher") -> tuple[dict, dict, int | None]:
    """(backbone state dict, training args as a dict, epoch) from a dino `checkpoint.pth`."""
    if key not in DINO_KEYS:
        raise EncoderError(f"dino checkpoint key {key!r}: give teacher (dino's eval default) or student")
    if not isinstance(ckpt, dict) or key not in ckpt:
        raise EncoderError(f"not a dino checkpoint: no {key!r} entry (it holds {_keys(ckpt)}); "
                           "main_dino.py's checkpoint.pth holds student, teacher, optimizer, "
                           "epoch and args. A bare backbone state dict loads as timm:<arch>:FILE")
    args = ckpt.get("args")
    if isinstance(args, argparse.Namespace):
        args = vars(args)
    if not isinstance(args, dict) or "arch" not in args:
        raise EncoderError("dino checkpoint has no 'args' naming the architecture (args.arch, "
                           "args.patch_size); load its backbone as timm:<arch>:FILE instead")
    if not isinstance(ckpt[key], dict):
        raise EncoderError(f"dino checkpoint entry {key!r} is a {type(ckpt[key]).__name__}, "
                           "not a state dict")
    state = strip_prefix(without_module(ckpt[key]), "backbone.")
    if not state:
        raise EncoderError(f"dino checkpoint {key!r} has no 'backbone.' weights (its keys start "
                           f"with {_prefixes(ckpt[key])}); the head alone is no encoder")
    epoch = ckpt.get("epoch")
    return state, dict(args), int(epoch) if isinstance(epoch, (int, float)) else None


def dino_arch(args: dict) -> tuple[str, dict]:
    """The timm architecture and kwargs for dino's `args.arch` and `args.patch_size`."""
    import timm

    arch, patch = args["arch"], int(args.get("patch_size") or 16)
    if arch in DINO_VITS:
        return f"{arch}_patch16_224", ({} if patch == 16 else {"patch_size": patch})
    if isinstance(arch, str) and timm.is_model(arch):  # torchvision ResNets: same names in timm
        return arch, {}
    raise EncoderError(f"dino architecture {arch!r} has no timm counterpart procmem knows "
                       f"({', '.join(DINO_VITS)} or a timm/torchvision name such as resnet50); "
                       "convert its backbone and load it as timm:<arch>:FILE")


def moco_backbone(ckpt) -> tuple[dict, str | None]:
    """(query-encoder state dict without its projection head `fc`, checkpoint's `arch`)."""
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise EncoderError(f"not a MoCo checkpoint: no 'state_dict' entry (it holds {_keys(ckpt)}); "
                           "main_moco.py saves epoch, arch, state_dict and optimizer")
    state = without_module(ckpt["state_dict"])
    for prefix in MOCO_PREFIXES:
        encoder = strip_prefix(state, prefix)
        if encoder:
            break
    else:
        raise EncoderError("MoCo checkpoint has no query encoder: no keys under "
                           f"module.{MOCO_PREFIXES[0]} (v1/v2) or module.{MOCO_PREFIXES[1]} (v3); "
                           f"its keys start with {_prefixes(state)}")
    arch = ckpt.get("arch")
    return {k: v for k, v in encoder.items() if not k.startswith("fc.")}, arch


def check_moco_arch(arch: str | None) -> str:
    if not arch:
        raise EncoderError("MoCo checkpoint names no 'arch'; give it as moco:FILE:<arch> "
                           "(e.g. moco:checkpoint_0199.pth.tar:resnet50)")
    if not arch.startswith(MOCO_ARCHS):
        raise EncoderError(f"MoCo architecture {arch!r}: procmem reads MoCo ResNet checkpoints "
                           f"({', '.join(MOCO_ARCHS)}...); MoCo v3 ViTs differ from timm's ViTs")
    return arch


def timm_state(obj, classifier) -> dict:
    """The model's tensors from a timm-style file, without the classifier named `classifier`
    (timm's pretrained_cfg["classifier"]: e.g. "head", "fc", or a tuple of names)."""
    if not is_tensor_dict(obj):
        inner = next((obj[k] for k in ("state_dict", "model", "state_dict_ema")
                      if isinstance(obj, dict) and is_tensor_dict(obj.get(k))), None)
        if inner is None:
            raise EncoderError(f"no weights found: expected a state dict, or one under "
                               f"'state_dict', 'model' or 'state_dict_ema' (the file holds {_keys(obj)})")
        obj = inner
    state = without_module(obj)
    heads = (classifier,) if isinstance(classifier, str) else tuple(classifier or ())
    return {k: v for k, v in state.items() if not any(k.startswith(h + ".") for h in heads)}
