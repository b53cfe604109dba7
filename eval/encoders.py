"""Encoders to compare, behind one interface, and the on-disk feature cache.

Every encoder has `name`, `fingerprint`, `dim`, `embed(images) -> float32 [N, D]` unit vectors
and `patch_features(images) -> float32 [N, h, w, D]` (pretrain.encoder.Encoder's contract 5).
Specs on the command line:

- `procmem:<export path or name>`: an exported procmem encoder (`Encoder.load`);
- `random:<arch>:<img_size>:<seed>`: an architecture at random init (`Encoder.random`);
- `random:<export>[:<seed>]`: an export's own architecture (timm kwargs included) at random init;
- `timm:<arch>:<weights.safetensors>[:<img_size>]`: any timm model from a local weights file;
- `pixels[:<size>[:<patch>]]`: raw pixels, the baseline every learned encoder must beat.

Features are cached as one `.npz` per (encoder fingerprint, data set fingerprint), written
atomically in chunks so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np

from procmem.eval.datasets import resize_images
from procmem.core.atomic import atomic_write_bytes
from procmem.core.errors import ProcmemError


class EncoderError(ProcmemError):
    """An encoder spec or weights file cannot be used."""


def _rgb(images) -> np.ndarray:
    """uint8 [N, H, W, 3] from an array or list (grey replicated to three channels)."""
    arr = np.stack([np.asarray(im) for im in images]) if isinstance(images, list) else np.asarray(images)
    if arr.dtype != np.uint8:
        raise EncoderError(f"images must be uint8 pixels, got {arr.dtype}")
    if arr.ndim == 3:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise EncoderError(f"images must be [N, H, W] or [N, H, W, 3], got shape {arr.shape}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr


class PixelEncoder:
    """Raw pixels: resize to `size` x `size`, flatten, centre and L2-normalise.

    A flat image (one colour) centres to zero; it gets the constant unit vector instead,
    which is orthogonal to every centred image and identical for all flat images, so a
    memory can store it (zero vectors are refused) and blank images find each other.

    Patch features are the raw RGB values of each `patch` x `patch` cell of the resized image
    (the "RGB" baseline of Rodriguez-Munoz et al. 2025, Table 2), scaled to [0, 1].
    """

    def __init__(self, size: int = 32, patch: int = 4):
        if size % patch:
            raise EncoderError(f"pixel encoder: size {size} is not a multiple of patch {patch}")
        self.size, self.patch = size, patch
        self.name = f"pixels-{size}"
        self.fingerprint = f"pixels:{size}:{patch}"
        self.dim = size * size * 3

    def embed(self, images) -> np.ndarray:
        x = resize_images(_rgb(images), self.size).reshape(len(images), -1).astype(np.float32)
        x -= x.mean(axis=1, keepdims=True)
        n = np.linalg.norm(x, axis=1, keepdims=True)
        flat = n[:, 0] < 1e-6
        x[flat] = 1.0
        n[flat] = np.sqrt(self.dim)
        return x / n

    def patch_features(self, images) -> np.ndarray:
        x = resize_images(_rgb(images), self.size).astype(np.float32) / 255.0
        g, p = self.size // self.patch, self.patch
        x = x.reshape(len(x), g, p, g, p, 3).transpose(0, 1, 3, 2, 4, 5)
        return np.ascontiguousarray(x.reshape(len(x), g, g, p * p * 3))


_SPEC = re.compile(r"^(procmem|random|timm|pixels)(?::(.*))?$")


def make_encoder(spec: str):
    """The encoder a command-line spec names (see the module docstring for the forms)."""
    m = _SPEC.match(spec)
    if not m:
        raise EncoderError(f"unknown encoder spec {spec!r}; use procmem:<export>, "
                           "random:<arch>:<size>:<seed>, timm:<arch>:<file.safetensors> or pixels[:size]")
    kind, rest = m.group(1), m.group(2) or ""
    parts = rest.split(":") if rest else []
    try:
        if kind == "pixels":
            return PixelEncoder(*(int(p) for p in parts))
        if kind == "random" and (len(parts) == 1 or (
                len(parts) == 2 and Path(parts[0].removesuffix(".json") + ".json").is_file())):
            enc = random_like(parts[0], int(parts[1]) if len(parts) > 1 else 0)
        elif kind == "random":
            arch, size, seed = parts
            enc = _pretrain_encoder().random(arch, int(size), int(seed))
        elif kind == "procmem":
            enc = _pretrain_encoder().load(rest)
            enc.name = f"procmem-{Path(rest).name.removesuffix('.safetensors').removesuffix('.json')}"
        else:
            arch, path, *size = parts
            return timm_file_encoder(arch, path, int(size[0]) if size else None)
        if not getattr(enc, "name", None):
            enc.name = encoder_name(enc)  # Encoder has no display name of its own
        return enc
    except ValueError as e:
        raise EncoderError(f"bad encoder spec {spec!r}: {e}") from e


def random_like(export, seed: int = 0):
    """The architecture of an encoder export (arch, timm kwargs, image size) at random init:
    the baseline that isolates what pretraining added."""
    from procmem.pretrain.encoder import encoder_files

    _, meta_path = encoder_files(export)
    if not meta_path.is_file():
        raise EncoderError(f"random:{export}: no export description {meta_path}; give "
                           "random:<export> or random:<arch>:<img_size>:<seed>")
    meta = json.loads(meta_path.read_text())
    kwargs = {k: v for k, v in meta.get("timm_kwargs", {}).items() if k != "img_size"}
    enc = _pretrain_encoder().random(meta["arch"], int(meta["image_size"]), seed, **kwargs)
    enc.name = f"random-like-{Path(meta_path).stem}-{seed}"
    return enc


def _pretrain_encoder():
    try:
        from procmem.pretrain.encoder import Encoder
    except ImportError as e:
        raise EncoderError("pretrain.encoder is not available in this checkout; "
                           "use the pixels encoder or update procmem") from e
    return Encoder


def timm_file_encoder(arch: str, weights: str | Path, img_size: int | None = None):
    """Any timm architecture with weights from a local `.safetensors` file (never downloaded).

    Built as a pretrain.encoder.Encoder (one implementation of preprocessing, embedding and
    patch features); mean/std and the default image size come from timm's config for `arch`.
    """
    weights = Path(weights)
    if weights.suffix != ".safetensors":
        raise EncoderError(f"{weights}: only .safetensors weights are loaded (never pickles); "
                           "convert the checkpoint with safetensors.torch.save_file")
    if not weights.is_file():
        raise EncoderError(f"weights file {weights} does not exist")
    from safetensors.torch import load_file

    from procmem.pretrain.model import create_backbone

    Encoder = _pretrain_encoder()
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
    meta = Encoder.describe(model, arch, kwargs, size, mean=list(cfg.get("mean", (0.485, 0.456, 0.406))),
                            std=list(cfg.get("std", (0.229, 0.224, 0.225))), weights=weights.name)
    from procmem.core.atomic import sha256_file

    enc = Encoder(model, meta, sha256_file(weights))
    enc.name = f"timm-{arch}"
    return enc


def encoder_name(encoder) -> str:
    """A short display name: the encoder's own `name`, else one made from its fingerprint."""
    name = getattr(encoder, "name", None)
    if name:
        return name
    fp = str(encoder.fingerprint)
    if fp.startswith("random:"):
        return "random-" + fp.split(":", 1)[1].replace(":", "-")
    meta = getattr(encoder, "meta", {}) or {}
    return f"procmem-{meta.get('arch', 'encoder')}-{fp[:8]}"


def slug(text: str) -> str:
    """`text` made safe for a file name (and kept short)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:48]


def cache_path(cache_dir, encoder, dataset, kind: str = "embed") -> Path:
    """The cache file for (encoder fingerprint, data set fingerprint, kind)."""
    meta = getattr(encoder, "meta", None) or {}
    # the fingerprint of a random init names arch, size and seed but not its timm kwargs
    # (patch size ...), so the architecture description joins the key
    arch = json.dumps({k: meta.get(k) for k in ("arch", "timm_kwargs", "image_size", "mean", "std")},
                      sort_keys=True, default=str)
    key = hashlib.sha256(f"{encoder.fingerprint}|{arch}|{dataset.fingerprint()}|{kind}".encode()
                         ).hexdigest()
    return Path(cache_dir) / f"{slug(encoder_name(encoder))}-{slug(dataset.name)}-{kind}-{key[:16]}.npz"


def _save_npz(path: Path, **arrays) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def compute_features(encoder, dataset, cache_dir=None, kind: str = "embed",
                     chunk: int = 512, progress: bool = True) -> np.ndarray:
    """`encoder.embed` (or `patch_features`) of `dataset.images`, cached and resumable.

    With `cache_dir`, each chunk of `chunk` images is saved as it completes; a rerun reuses
    finished chunks and the merged file, so a kill loses at most one chunk of work.
    """
    fn = {"embed": encoder.embed, "patch": encoder.patch_features}[kind]
    images = dataset.images
    if cache_dir is None:
        return np.concatenate([fn(images[i:i + chunk]) for i in range(0, len(images), chunk)])
    path = cache_path(cache_dir, encoder, dataset, kind)
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return z["features"]
    from tqdm import tqdm

    parts = []
    starts = range(0, len(images), chunk)
    for s in tqdm(starts, desc=f"{kind} {encoder_name(encoder)} {dataset.name}", unit="chunk",
                  disable=not progress or len(starts) < 2, leave=False):
        part = path.with_name(f"{path.stem}.part{s // chunk:05d}.npz")
        if part.is_file():
            with np.load(part, allow_pickle=False) as z:
                parts.append(z["features"])
            continue
        feats = np.asarray(fn(images[s:s + chunk]), dtype=np.float32)
        _save_npz(part, features=feats)
        parts.append(feats)
    features = np.concatenate(parts) if parts else np.zeros((0, encoder.dim), np.float32)
    _save_npz(path, features=features, encoder_fingerprint=np.array(encoder.fingerprint),
              dataset_fingerprint=np.array(dataset.fingerprint()))
    for s in starts:
        path.with_name(f"{path.stem}.part{s // chunk:05d}.npz").unlink(missing_ok=True)
    return features
