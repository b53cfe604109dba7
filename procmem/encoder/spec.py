"""The one encoder spec grammar, for every command that takes an encoder (`embed`, `memory`,
`eval`, `encoder`, the demo).

- `procmem:<export>` or a bare `<export>`: an exported procmem encoder (`Encoder.load`);
  `procmem:default` is the encoder shipped inside procmem (`procmem/encoder/shipped/`), where
  this version ships one (an export of your own named default: `procmem:./default`);
- `timm:<arch>:<file>[:<img_size>]`: any timm model from a local `.safetensors`, `.pth` or `.pt`;
- `dino:<checkpoint.pth>[:teacher|:student]`: a facebookresearch/dino checkpoint (teacher by
  default, as dino's eval_knn.py);
- `moco:<checkpoint.pth.tar>[:<arch>]`: a MoCo v1/v2/v3 ResNet checkpoint's query encoder;
- `random:<arch>:<img_size>:<seed>`: an architecture at random init (`Encoder.random`);
- `random:<export>[:<seed>]`: an export's own architecture (timm kwargs included) at random init;
- `pixels[:<size>[:<patch>]]`: raw pixels, the baseline every learned encoder must beat.

Nothing is downloaded and no pickle runs code (procmem.encoder.checkpoint). Every encoder made
here has `name`, `fingerprint`, `dim`, `embed(images)` (float32 [N, D] unit vectors) and
`patch_features(images)` (float32 [N, h, w, D]).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from procmem.encoder.errors import EncoderError

KINDS = ("procmem", "timm", "dino", "moco", "random", "pixels")
_SPEC = re.compile(rf"^({'|'.join(KINDS)})(?::(.*))?$")
FORMS = ("procmem:<export>, timm:<arch>:<file.safetensors|.pth|.pt>[:<size>], "
         "dino:<checkpoint.pth>[:teacher|:student], moco:<checkpoint.pth.tar>[:<arch>], "
         "random:<arch>:<size>:<seed>, random:<export>[:<seed>] or pixels[:<size>[:<patch>]]")
SPEC_HELP = f"encoder spec: {FORMS} (nothing is downloaded)"
SHIPPED = Path(__file__).resolve().parent / "shipped"
DEFAULT = "default"  # procmem:default, random:default[:seed]


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
        enc = _BUILDERS[kind](parts, device)
    except ValueError as e:
        raise EncoderError(f"bad encoder spec {spec!r} ({e}); write it as one of {FORMS}") from None
    enc.batch_size = batch_size
    if name:
        enc.name = name
    return enc


def _procmem(parts, device):
    if not parts:
        raise ValueError("procmem: needs the export's path")
    name = ":".join(parts)
    return _encoder_class().load(export_path(name), device=device,
                                 display_name="procmem-default" if name == DEFAULT else None)


def shipped_default() -> Path:
    """Where `procmem:default` lives: SHIPPED/default.{safetensors,json}."""
    return SHIPPED / DEFAULT


def ships_default() -> bool:
    """Whether this version of procmem ships an encoder as `procmem:default`."""
    return _export_exists(shipped_default())


def export_path(name: str) -> str:
    """An export's path; `default` is the encoder shipped inside procmem (a clear error where
    this version ships none)."""
    if name != DEFAULT:
        return name
    if not ships_default():
        raise EncoderError("procmem:default: this version of procmem ships no default encoder "
                           "(one is shipped only when it beats raw pixels on CIFAR-10 and "
                           "Imagenette kNN: docs/benchmarks.md, 'Encoder recipes'); give an "
                           "export's path, e.g. procmem:runs/enc (an export of your own named "
                           "default: procmem:./default)")
    return str(shipped_default())


def _timm(parts, device):
    from procmem.encoder.foreign import timm_file_encoder

    if len(parts) not in (2, 3):
        raise ValueError("timm: needs <arch>:<file>[:<size>]")
    arch, path, *size = parts
    return timm_file_encoder(arch, path, int(size[0]) if size else None, device=device)


def _dino(parts, device):
    from procmem.encoder.foreign import dino_encoder
    from procmem.encoder.layouts import DINO_KEYS

    key = parts.pop() if len(parts) > 1 and parts[-1] in DINO_KEYS else "teacher"
    if len(parts) != 1:
        raise ValueError("dino: needs <checkpoint.pth>[:teacher|:student]")
    return dino_encoder(parts[0], key, device=device)


def _moco(parts, device):
    from procmem.encoder.foreign import moco_encoder

    if len(parts) not in (1, 2):
        raise ValueError("moco: needs <checkpoint>[:<arch>]")
    return moco_encoder(parts[0], parts[1] if len(parts) > 1 else None, device=device)


def _random(parts, device):
    if len(parts) == 1 or (len(parts) == 2 and (parts[0] == DEFAULT or Path(
            parts[0].removesuffix(".json") + ".json").is_file())):
        return random_like(export_path(parts[0]), int(parts[1]) if len(parts) > 1 else 0,
                           device=device)
    arch, size, seed = parts
    return _encoder_class().random(arch, int(size), int(seed), device=device)


def _pixels(parts, device):
    from procmem.encoder.pixels import PixelEncoder

    return PixelEncoder(*(int(p) for p in parts))


_BUILDERS = {"procmem": _procmem, "timm": _timm, "dino": _dino, "moco": _moco,
             "random": _random, "pixels": _pixels}


def _export_exists(name: str | Path) -> bool:
    from procmem.encoder.encoder import encoder_files

    return all(f.is_file() for f in encoder_files(name))


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
                                   preprocess=meta.get("preprocess"),
                                   readout=meta.get("readout", "cls"),
                                   patch_image_size=meta.get("patch_image_size", 0), **kwargs)
