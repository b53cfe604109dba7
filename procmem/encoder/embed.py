"""`procmem embed`: an ImageFolder -> features.npz with any encoder spec (procmem.encoder.spec).

The npz holds `features` float32 [N, D] (unit rows), `labels` int64 [N], `paths` and
`label_names` (unicode arrays, so `np.load(allow_pickle=False)` reads them) and the
encoder's `fingerprint`, which a memory built from these vectors must carry.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from procmem.core.atomic import atomic_write_bytes
from procmem.encoder.imagefolder import list_image_folder, read_rgb
from procmem.encoder.spec import make_encoder


def embed_folder(model: str, folder: str | Path, out: str | Path, batch_size: int = 64,
                 device: str = "auto") -> tuple[int, int]:
    """Embed every image of `folder`; returns (count, dimension)."""
    paths, labels, names = list_image_folder(folder)
    enc = make_encoder(model, device=device, batch_size=batch_size)
    feats = embed_files(enc, paths, batch_size)
    buf = io.BytesIO()
    np.savez(buf, features=feats, labels=np.asarray(labels, np.int64),
             paths=np.asarray([str(p) for p in paths]), label_names=np.asarray(names),
             fingerprint=np.asarray(enc.fingerprint))
    atomic_write_bytes(out, buf.getvalue())
    return len(paths), enc.dim


def embed_files(enc, paths, batch_size: int = 64) -> np.ndarray:
    """float32 [len(paths), enc.dim]: the images at `paths` embedded by `enc`, read a batch at
    a time (a clear error names a file that is not an image)."""
    from procmem.core.progress import progress

    feats = np.zeros((len(paths), enc.dim), np.float32)
    for i in progress(range(0, len(paths), batch_size), desc="embed", unit="batch"):
        chunk = [read_rgb(p) for p in paths[i:i + batch_size]]
        feats[i:i + len(chunk)] = enc.embed(chunk)
    return feats
