"""Encoders from other projects' weights: a timm file, a dino `checkpoint.pth`, a MoCo ResNet.

Each is one `Encoder` (one implementation of preprocessing, embedding and patch features)
whose preprocessing follows its source's own evaluation (procmem.encoder.preprocess) and is
written in its meta. Its fingerprint is the sha256 of `canonical_weights`: the backbone's
tensors as safetensors with the architecture and preprocessing in the header, which are the
exact bytes `procmem encoder convert` writes, so the converted export (fingerprint = sha256
of its weights file) keeps the fingerprint and a memory built with either accepts the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from procmem.core.hashing import sha256_bytes, sha256_file
from procmem.encoder import layouts
from procmem.encoder.checkpoint import TORCH_SUFFIXES, check_weights_file, read_weights
from procmem.encoder.errors import EncoderError
from procmem.encoder.preprocess import resize_centre_crop, timm_eval

FINGERPRINT_FIELDS = ("arch", "timm_kwargs", "preprocess")
DINO_EVAL = dict(resize=256, crop=224, interpolation="bicubic")   # dino eval_knn.py
MOCO_EVAL = dict(resize=256, crop=224, interpolation="bilinear")  # moco main_lincls.py


def canonical_weights(model, meta: dict) -> bytes:
    """safetensors bytes of the model's state dict with `FINGERPRINT_FIELDS` of `meta` in the
    header: deterministic, so its sha256 names weights and preprocessing together."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    header = json.dumps({k: meta[k] for k in FINGERPRINT_FIELDS}, sort_keys=True)
    return save(state, metadata={"procmem": header})


def timm_file_encoder(arch: str, weights: str | Path, img_size: int | None = None,
                      device: str | None = None):
    """Any timm architecture with weights from a local `.safetensors`, `.pth` or `.pt` file
    (never downloaded); preprocessing from timm's pretrained_cfg for `arch` (input size,
    crop_pct, interpolation, mean, std), `img_size` replacing its input size."""
    from procmem.encoder.backbone import create_backbone

    path = check_weights_file(weights)
    model = (create_backbone(arch, optional=("img_size",), img_size=img_size) if img_size
             else create_backbone(arch))
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    state = _read(path, lambda obj: layouts.timm_state(obj, cfg.get("classifier") or ("head", "fc")))
    _load(model, state, f"weights {path}", f"timm {arch}")
    source = {"format": "timm", **_file_record(path)}
    return _encoder(model, arch, model.procmem_kwargs, timm_eval(cfg, img_size), source,
                    f"timm-{arch}-{file_label(path)}", device)


def dino_encoder(checkpoint: str | Path, key: str = "teacher", device: str | None = None):
    """The `key` backbone (teacher by default, as dino's eval_knn.py) of a dino checkpoint,
    fed as dino's evaluation feeds it: shorter side 256 (bicubic), centre 224, ImageNet mean/std."""
    from procmem.encoder.backbone import create_backbone

    path = _torch_file(checkpoint, "dino")
    state, args, epoch = _read(path, lambda obj: layouts.dino_backbone(obj, key))
    arch, kwargs = layouts.dino_arch(args)
    model = create_backbone(arch, **kwargs)
    _load(model, state, f"dino checkpoint {path} ({key})", f"{args['arch']} -> timm {arch} {kwargs}")
    source = {"format": "dino", **_file_record(path), "checkpoint_key": key,
              "epoch": epoch, "train_args": jsonable(args)}
    return _encoder(model, arch, kwargs, resize_centre_crop(**DINO_EVAL), source,
                    f"dino-{args['arch']}-{key}-{file_label(path)}", device)


def moco_encoder(checkpoint: str | Path, arch: str | None = None, device: str | None = None):
    """The query encoder of a MoCo v1/v2/v3 ResNet checkpoint without its projection head,
    fed as MoCo's main_lincls.py evaluates: shorter side 256, centre 224, ImageNet mean/std."""
    from procmem.encoder.backbone import create_backbone

    path = _torch_file(checkpoint, "moco")
    state, saved_arch = _read(path, layouts.moco_backbone)
    arch = layouts.check_moco_arch(arch or saved_arch)
    model = create_backbone(arch)
    _load(model, state, f"MoCo checkpoint {path}", f"timm {arch}")
    source = {"format": "moco", **_file_record(path), "arch": arch}
    return _encoder(model, arch, {}, resize_centre_crop(**MOCO_EVAL), source,
                    f"moco-{arch}-{file_label(path)}", device)


def file_label(path: Path) -> str:
    """The file's name without weights suffixes (`checkpoint_0199.pth.tar` -> `checkpoint_0199`)."""
    name = path.name
    while (suffix := Path(name).suffix) in (*TORCH_SUFFIXES, ".safetensors") and suffix:
        name = name[: -len(suffix)]
    return name or path.name


def jsonable(obj):
    """`obj` with every value JSON can hold kept and the rest written as its repr."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def _torch_file(path, kind: str) -> Path:
    if Path(path).suffix == ".safetensors":
        raise EncoderError(f"{kind}:{path}: a {kind} checkpoint is a torch file "
                           f"({', '.join(TORCH_SUFFIXES)}); a .safetensors backbone loads as "
                           "timm:<arch>:FILE or procmem:NAME")
    return check_weights_file(path)


def _read(path: Path, layout):
    """`layout(content of path)`, its errors prefixed with the file's name."""
    content = read_weights(path)
    try:
        return layout(content)
    except EncoderError as e:
        raise EncoderError(f"{path}: {e}") from None


def _load(model, state: dict, what: str, target: str) -> None:
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shapes that differ: another size of the architecture
        lines = [ln.strip() for ln in str(e).splitlines() if "size mismatch" in ln]
        raise EncoderError(f"{what} does not fit {target}: {'; '.join(lines[:3]) or e}") from None
    if missing or unexpected:
        raise EncoderError(f"{what} does not fit {target}: missing {list(missing)[:5]}"
                           f"{' ...' if len(missing) > 5 else ''}, unexpected {list(unexpected)[:5]}"
                           f"{' ...' if len(unexpected) > 5 else ''}")


def _file_record(path: Path) -> dict:
    return {"file": str(path.resolve()), "file_sha256": sha256_file(path)}


def _encoder(model, arch: str, kwargs: dict, preprocess: dict, source: dict, label: str,
             device):
    from procmem.encoder.encoder import Encoder

    meta = Encoder.describe(model, arch, kwargs, preprocess["crop"], preprocess["mean"],
                            preprocess["std"], preprocess=preprocess,
                            learned_from={"kind": "foreign", **source})
    fingerprint = sha256_bytes(canonical_weights(model, meta))
    return Encoder(model, meta, fingerprint, device, name=f"{label}-{fingerprint[:8]}")
