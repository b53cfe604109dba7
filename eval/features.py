"""The on-disk feature cache: one `.npz` per (encoder fingerprint, data set fingerprint, kind).

Written atomically in chunks, so an interrupted run resumes where it stopped. Encoders come
from `procmem.encoder.spec.make_encoder` (one spec grammar for every command).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np

from procmem.core.atomic import atomic_write_bytes


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
    for key in ("readout", "patch_image_size"):  # only when set, so older cache keys stay valid
        if meta.get(key):
            arch += f"|{key}={meta[key]}"
    protocol = getattr(encoder, "protocol", None)  # a protocol's own preprocessing (paper's)
    if protocol:
        arch += f"|{protocol}:" + json.dumps(encoder.preprocessing, sort_keys=True)
    key = hashlib.sha256(f"{encoder.fingerprint}|{arch}|{dataset.fingerprint()}|{kind}".encode()
                         ).hexdigest()
    return Path(cache_dir) / f"{slug(encoder.name)}-{slug(dataset.name)}-{kind}-{key[:16]}.npz"


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
    from procmem.core.progress import progress as progress_bar

    parts = []
    starts = range(0, len(images), chunk)
    for s in progress_bar(starts, desc=f"{kind} {encoder.name} {dataset.name}", unit="chunk",
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
