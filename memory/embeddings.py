"""Embeddings entering the memory: the `.npz` written by `procmem embed`, or images embedded
on the spot with any encoder spec (procmem.encoder, imported lazily: no torch at import): an
ImageFolder (its class subfolders give labels) or any files, folders and globs of photos
without labels (`image_paths`, `embed_images`).

The npz holds `features` float32 [N, D], `labels` int [N], and optionally `paths`,
`label_names`, the encoder `fingerprint` and item `ids` (int [N], distinct: `memory add` and
`build` then use them, so adding the same file twice is refused instead of duplicating every
item); it is read with allow_pickle=False.
"""

from __future__ import annotations

import glob
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from procmem.memory.errors import MemoryStoreError


@dataclass
class Embeddings:
    features: np.ndarray
    labels: np.ndarray
    paths: list[str] | None
    label_names: list[str] | None
    fingerprint: str | None
    origin: str
    ids: np.ndarray | None = None
    labelled: bool = True  # False: photos without labels (`labels` are all -1)

    def names_map(self) -> dict[int, str] | None:
        return dict(enumerate(self.label_names)) if self.label_names is not None else None


def load_npz(path) -> Embeddings:
    path = Path(path)
    if not path.is_file():
        raise MemoryStoreError(f"embeddings file {path} not found: write one with `procmem embed`")
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if not {"features", "labels"} <= keys:
                raise MemoryStoreError(f"{path} lacks {sorted({'features', 'labels'} - keys)}: an "
                                       f"embeddings npz needs 'features' [N, D] and 'labels' [N]")
            feats, labels = z["features"], z["labels"]
            paths = z["paths"].astype(str).tolist() if "paths" in keys else None
            names = z["label_names"].astype(str).tolist() if "label_names" in keys else None
            fp = str(z["fingerprint"]) if "fingerprint" in keys else None
            ids = z["ids"] if "ids" in keys else None
    except (ValueError, OSError, EOFError) as e:
        raise MemoryStoreError(f"{path} is not a readable embeddings npz ({e}); re-run `procmem "
                               f"embed` (object arrays are refused: allow_pickle=False)")
    if feats.ndim != 2 or labels.shape != (len(feats),):
        raise MemoryStoreError(f"{path}: features {feats.shape} and labels {labels.shape} do not "
                               f"match ([N, D] and [N])")
    if paths is not None and len(paths) != len(feats):
        raise MemoryStoreError(f"{path}: {len(paths)} paths for {len(feats)} features")
    if ids is not None and (ids.shape != (len(feats),) or not np.issubdtype(ids.dtype, np.integer)
                            or len(np.unique(ids)) != len(ids)):
        raise MemoryStoreError(f"{path}: 'ids' must be {len(feats)} distinct integers (one per "
                               f"row of features), got shape {ids.shape} dtype {ids.dtype}; fix "
                               f"or drop the array (the memory then assigns ids)")
    return Embeddings(feats, labels.astype(np.int64), paths, names, fp, str(path),
                      None if ids is None else ids.astype(np.int64))


def embed_folder(model: str, folder, batch_size: int = 64) -> Embeddings:
    """Embed an ImageFolder with the encoder `model` names (procmem.encoder.spec)."""
    from procmem.encoder.embed import embed_folder as _embed
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "features.npz"
        _embed(model, folder, out, batch_size=batch_size)
        e = load_npz(out)
    e.origin = f"{model} on {folder}"
    return e


def image_paths(specs, option: str = "--images") -> list[Path]:
    """The image files that `specs` name, in order, each once: a file as given (any format
    the encoder's reader takes), a folder's images at any depth (by suffix, hidden files left
    out, sorted), a glob's matches (`*`, `?`, `[...]`; `**` for any depth), sorted. `option`
    names the option in the error for a spec that names none."""
    found: dict[Path, None] = {}
    for spec in map(str, specs):
        p = Path(spec)
        if p.is_dir():
            hits = _folder_images(p)
            what = f"folder {spec} holds no images ({', '.join(sorted(_suffixes()))})"
        elif p.is_file():
            hits, what = [p], ""
        else:
            matched = sorted(Path(m) for m in glob.glob(spec, recursive=True))
            hits = [f for f in matched if f.is_file()] + [
                f for d in matched if d.is_dir() for f in _folder_images(d)]
            what = (f"pattern {spec} matches no image" if glob.has_magic(spec) else
                    f"no file or folder {spec}")
        if not hits:
            raise MemoryStoreError(f"{option}: {what}: give image files, folders or patterns "
                                   f"such as 'photos/*.jpg'")
        found.update(dict.fromkeys(hits))
    return list(found)


def _suffixes() -> set[str]:
    from procmem.encoder.imagefolder import IMAGE_SUFFIXES

    return IMAGE_SUFFIXES


def _folder_images(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in _suffixes()
                  and not any(part.startswith(".") for part in f.relative_to(folder).parts))


def embed_images(enc, paths: list[Path], batch_size: int = 64) -> Embeddings:
    """Photos without labels embedded by the encoder `enc` (procmem.encoder.spec)."""
    from procmem.encoder.embed import embed_files

    feats = embed_files(enc, paths, batch_size)
    return Embeddings(feats, np.full(len(paths), -1, np.int64), [str(p) for p in paths], None,
                      enc.fingerprint, f"{len(paths)} images", labelled=False)


def to_memory_labels(emb: Embeddings, memory_names: dict[int, str], *,
                     new_classes: bool) -> tuple[np.ndarray, dict[int, str]]:
    """Map the file's labels to the memory's by class name (when both have names).

    Known names take the memory's label; unknown names get fresh labels when `new_classes`
    (adding whole classes), else -1 (a query whose class the memory does not know).
    Without names on either side, labels are taken as they are.
    """
    if emb.label_names is None or not memory_names:
        return emb.labels, emb.names_map() or {}
    by_name = {n: lab for lab, n in memory_names.items()}
    nxt = max(memory_names) + 1
    mapping, new_names = {}, {}
    for i, name in enumerate(emb.label_names):
        if name in by_name:
            mapping[i] = by_name[name]
        elif new_classes:
            mapping[i], new_names[nxt] = nxt, name
            nxt += 1
        else:
            mapping[i] = -1
    lut = np.array([mapping[i] for i in range(len(emb.label_names))], np.int64)
    if len(emb.labels) and (emb.labels.max() >= len(lut) or emb.labels.min() < 0):
        raise MemoryStoreError(f"{emb.origin}: labels outside 0..{len(lut) - 1} of its label_names")
    return lut[emb.labels], new_names
