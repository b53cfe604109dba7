"""The one encoder spec grammar, for every command that takes an encoder.

- `procmem:<export>` or a bare `<export>`: an exported procmem encoder (`Encoder.load`);
- `random:<arch>:<img_size>:<seed>`: an architecture at random init (`Encoder.random`);
- `random:<export>[:<seed>]`: an export's own architecture (timm kwargs included) at random init;
- `timm:<arch>:<weights.safetensors>[:<img_size>]`: any timm model from a local weights file;
- `pixels[:<size>[:<patch>]]`: raw pixels, the baseline every learned encoder must beat.

Every encoder made here has `name`, `fingerprint`, `dim`, `embed(images)` (float32 [N, D]
unit vectors) and `patch_features(images)` (float32 [N, h, w, D]).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from procmem.encoder.errors import EncoderError

_SPEC = re.compile(r"^(procmem|random|timm|pixels)(?::(.*))?$")
FORMS = ("procmem:<export>, random:<arch>:<size>:<seed>, random:<export>[:<seed>], "
         "timm:<arch>:<file.safetensors>[:<size>] or pixels[:<size>[:<patch>]]")


def make_encoder(spec: str, device: str | None = None, batch_size: int = 64,
                 name: str | None = None):
    """The encoder a spec names (module docstring); a spec of no known kind is an export path.

    `name` replaces the encoder's display name (a table row, a cache file's prefix).
    """
    m = _SPEC.match(spec)
    if m is None and not _export_exists(spec):
        raise EncoderError(f"unknown encoder spec {spec!r}: no export {spec}.safetensors; "
                           f"write one of {FORMS}")
    kind, rest = (m.group(1), m.group(2) or "") if m else ("procmem", spec)
    parts = rest.split(":") if rest else []
    try:
        if kind == "pixels":
            enc = _pixels(*(int(p) for p in parts))
        elif kind == "timm":
            arch, path, *size = parts
            enc = timm_file_encoder(arch, path, int(size[0]) if size else None, device=device)
        elif kind == "random" and (len(parts) == 1 or (
                len(parts) == 2 and Path(parts[0].removesuffix(".json") + ".json").is_file())):
            enc = random_like(parts[0], int(parts[1]) if len(parts) > 1 else 0, device=device)
        elif kind == "random":
            arch, size, seed = parts
            enc = _encoder_class().random(arch, int(size), int(seed), device=device)
        else:
            if not rest:
                raise ValueError("procmem: needs the export's path")
            enc = _encoder_class().load(rest, device=device)
    except ValueError as e:
        raise EncoderError(f"bad encoder spec {spec!r} ({e}); write it as one of {FORMS}") from None
    enc.batch_size = batch_size
    if name:
        enc.name = name
    return enc


def _export_exists(name: str) -> bool:
    from procmem.encoder.encoder import encoder_files

    return all(f.is_file() for f in encoder_files(name))


def _pixels(*args):
    from procmem.encoder.pixels import PixelEncoder

    return PixelEncoder(*args)


def _encoder_class():
    from procmem.encoder.encoder import Encoder

    return Encoder


def random_like(export, seed: int = 0, device: str | None = None):
    """The architecture of an encoder export (arch, timm kwargs, image size) at random init:
    the baseline that isolates what pretraining added."""
    from procmem.encoder.encoder import encoder_files

    _, meta_path = encoder_files(export)
    if not meta_path.is_file():
        raise EncoderError(f"random:{export}: no export description {meta_path}; give "
                           "random:<export> or random:<arch>:<img_size>:<seed>")
    meta = json.loads(meta_path.read_text())
    kwargs = {k: v for k, v in meta.get("timm_kwargs", {}).items() if k != "img_size"}
    return _encoder_class().random(meta["arch"], int(meta["image_size"]), seed, device=device,
                                   display_name=f"random-like-{Path(meta_path).stem}-{seed}",
                                   **kwargs)


def timm_file_encoder(arch: str, weights: str | Path, img_size: int | None = None,
                      device: str | None = None):
    """Any timm architecture with weights from a local `.safetensors` file (never downloaded).

    One `Encoder` (one implementation of preprocessing, embedding and patch features); mean/std
    and the default image size come from timm's config for `arch`.
    """
    weights = Path(weights)
    if weights.suffix != ".safetensors":
        raise EncoderError(f"{weights}: only .safetensors weights are loaded (never pickles); "
                           "convert the checkpoint with safetensors.torch.save_file")
    if not weights.is_file():
        raise EncoderError(f"weights file {weights} does not exist")
    from safetensors.torch import load_file

    from procmem.core.hashing import sha256_file
    from procmem.encoder.backbone import create_backbone

    Encoder = _encoder_class()
    kwargs = {"img_size": img_size} if img_size else {}
    model = create_backbone(arch, **kwargs)
    try:
        state = load_file(str(weights))
    except Exception as e:  # safetensors raises its own types for bad headers
        raise EncoderError(f"weights file {weights} cannot be read ({e})") from None
    state = {k: v for k, v in state.items() if not k.startswith(("head.", "fc.", "classifier."))}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise EncoderError(f"weights {weights} do not fit timm {arch}: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}")
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    size = img_size or int(cfg.get("input_size", (3, 224, 224))[-1])
    meta = Encoder.describe(model, arch, kwargs, size,
                            mean=list(cfg.get("mean", (0.485, 0.456, 0.406))),
                            std=list(cfg.get("std", (0.229, 0.224, 0.225))), weights=weights.name)
    return Encoder(model, meta, sha256_file(weights), device,
                   name=f"timm-{arch}-{weights.with_suffix('').name}")
