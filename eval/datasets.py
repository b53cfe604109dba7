"""Real-data loaders for evaluation: ImageFolder trees, MedMNIST `.npz`, NIGHTS triplets, CamVid.

Real images enter procmem here (and in the memory) only; they are read from a path
(default `procmem.paths.shared_data_dir()`) and never copied into the repository.
Sets without an official split get a deterministic, seeded, stratified memory/query split,
so every table is reproducible from (data, seed).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.core.paths import shared_data_dir
from procmem.encoder.images import resize_images  # noqa: F401  (callers import it from here)

CAMVID_VOID = 11
"""CamVid's void/ignore label (labels 0..10 are the 11 classes)."""


class DataError(ProcmemError):
    """An evaluation data set is missing, malformed or inconsistent."""


@dataclass
class LabelledImages:
    """Images (uint8 [N, H, W, 3], or [N, H, W] grey) with int64 labels and class names."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    ids: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64).ravel()
        if len(self.images) != len(self.labels):
            raise DataError(f"{self.name}: {len(self.images)} images but {len(self.labels)} labels")
        if not self.ids:
            self.ids = [f"{self.name}/{i}" for i in range(len(self.labels))]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, index, name: str | None = None) -> "LabelledImages":
        index = np.asarray(index, dtype=np.int64)
        return LabelledImages(name or self.name, self.images[index], self.labels[index],
                              list(self.class_names), [self.ids[i] for i in index])

    def fingerprint(self) -> str:
        """sha256 of pixels, shape and labels: the data half of a feature-cache key."""
        h = hashlib.sha256()
        h.update(repr((self.images.shape, str(self.images.dtype))).encode())
        h.update(np.ascontiguousarray(self.images).data)
        h.update(self.labels.astype("<i8").tobytes())
        return h.hexdigest()


def fields_fingerprint(obj) -> str:
    """sha256 over a data class's fields, arrays by shape, dtype and bytes: the content key of
    a loaded set that has no labels-and-images form (NIGHTS triplets, segmentation sets)."""
    h = hashlib.sha256()
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            h.update(repr((f.name, v.shape, str(v.dtype))).encode())
            h.update(np.ascontiguousarray(v).data)
        else:
            h.update(repr((f.name, v)).encode())
    return h.hexdigest()


@dataclass
class Triplets:
    """NIGHTS 2AFC triplets: reference, two distortions, and the human votes for each side."""

    ref: np.ndarray
    left: np.ndarray
    right: np.ndarray
    left_vote: np.ndarray
    right_vote: np.ndarray
    ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    fingerprint = fields_fingerprint


@dataclass
class SegmentationSet:
    """Images uint8 [N, H, W, 3] with label masks int64 [N, H, W]; `void` marks ignored pixels."""

    name: str
    images: np.ndarray
    masks: np.ndarray
    num_classes: int
    void: int
    ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    fingerprint = fields_fingerprint


def data_root(root: str | Path | None = None) -> Path:
    """The data directory: `root` if given, else the shared one; a clear error if neither exists."""
    if root is not None:
        root = Path(root)
        if not root.is_dir():
            raise DataError(f"data directory {root} does not exist; pass an existing --data-root")
        return root
    found = shared_data_dir()
    if found is None:
        raise DataError("no real data found: set PROCMEM_DATA or pass --data-root "
                        "(the layout is described in ../shared/data/README.md)")
    return found


def sklearn_digits(rgb: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (1,797 images, 10 classes; ships with the package, nothing is
    downloaded) as uint8 0-255: [N, 8, 8], or [N, 8, 8, 3] with `rgb`; and the labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    grey = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)
    return (np.repeat(grey[..., None], 3, axis=-1) if rgb else grey), d.target


def _read_rgb(path: Path, size) -> np.ndarray:
    """uint8 [H, W, 3] of one file (`read_rgb`), resized when `size` (an int, (H, W) or a
    PIL image -> PIL image callable) is set."""
    from PIL import Image

    from procmem.encoder.imagefolder import read_rgb

    im = read_rgb(path)
    if callable(size):  # a protocol's own load transform (eval.paper_protocol.load_transform)
        return np.asarray(size(im))
    if size is not None:
        h, w = (size, size) if isinstance(size, int) else size
        if im.size != (w, h):
            im = im.resize((w, h), Image.BILINEAR)
    return np.asarray(im)


def _stack(arrays: list[np.ndarray], where: str) -> np.ndarray:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(f"images in {where} have different sizes {sorted(shapes)[:3]}...; "
                        "pass a size (--res) to resize them on load")
    return np.stack(arrays)


def list_image_folder(root: str | Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Files, labels and class names of an ImageFolder tree `root/<class>/<image>`
    (procmem.encoder.imagefolder's listing: classes and files sorted)."""
    from procmem.encoder.imagefolder import list_image_folder as listing

    files, labels, classes = listing(root)
    return files, np.asarray(labels, np.int64), classes


def read_image_folder(root, files: list[Path], labels, classes: list[str], size=None,
                      name: str | None = None) -> LabelledImages:
    """Decode the listed files of an ImageFolder tree into a LabelledImages."""
    root = Path(root)
    images = [_read_rgb(f, size) for f in files]
    ids = [f"{f.parent.name}/{f.name}" for f in files]
    return LabelledImages(name or root.name, _stack(images, str(root)), labels, classes, ids)


def load_image_folder(root: str | Path, size=None, limit_per_class: int | None = None,
                      seed: int = 0, name: str | None = None) -> LabelledImages:
    """An ImageFolder tree; `limit_per_class` keeps a seeded random subset of each class."""
    files, labels, classes = list_image_folder(root)
    keep = np.arange(len(files)) if limit_per_class is None else \
        per_class_subset(labels, limit_per_class, seed)
    return read_image_folder(root, [files[i] for i in keep], labels[keep], classes, size, name)


NPZ_KEYS = (("{split}_images", "{split}_labels"), ("x_{split}", "y_{split}"))
"""Array names of an npz split: MedMNIST's (`train_images`, ...) or Keras' (`x_train`, ...)."""


def load_npz(path: str | Path, split: str, class_names: list[str] | None = None,
             name: str | None = None) -> LabelledImages:
    """One split of a MedMNIST-style `.npz` (`{train,val,test}_{images,labels}`, or Keras'
    `x_{split}`/`y_{split}`); class names from `class_names` or eval.class_names."""
    from procmem.eval.class_names import npz_class_names

    path = Path(path)
    if not path.is_file():
        raise DataError(f"npz file {path} does not exist")
    with np.load(path, allow_pickle=False) as z:
        keys = [(i.format(split=split), k.format(split=split)) for i, k in NPZ_KEYS]
        found = [(ik, lk) for ik, lk in keys if ik in z.files and lk in z.files]
        if not found:
            raise DataError(f"{path} has no {keys[0][0]}/{keys[0][1]} (keys: "
                            f"{', '.join(sorted(z.files))}); choose a split among train, val, test")
        ik, lk = found[0]
        images, labels = z[ik], z[lk].reshape(len(z[lk]), -1)
        if labels.shape[1] != 1:
            raise DataError(f"{path}: {lk} has {labels.shape[1]} columns (multi-label); "
                            "kNN classification needs one label per image")
        if images.dtype != np.uint8:
            raise DataError(f"{path}: {ik} is {images.dtype}; expected uint8 pixels")
        labels = labels[:, 0].astype(np.int64)
        n_cls = int(labels.max()) + 1 if len(labels) else 0
        names = class_names or npz_class_names(path, z, n_cls)
    stem = name or path.stem
    return LabelledImages(f"{stem}-{split}", images, labels, names,
                          [f"{stem}/{split}/{i}" for i in range(len(labels))])


def stratified_split(labels, query_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified (memory, query) index split: each class keeps `query_fraction` as queries.

    Every class with at least two items gets at least one query and one memory item.
    """
    if not 0.0 < query_fraction < 1.0:
        raise DataError(f"query fraction {query_fraction} must be in (0, 1)")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    mem, qry = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        nq = int(round(query_fraction * len(idx)))
        if len(idx) >= 2:
            nq = min(max(nq, 1), len(idx) - 1)
        qry.append(idx[:nq])
        mem.append(idx[nq:])
    return np.sort(np.concatenate(mem)), np.sort(np.concatenate(qry))


def per_class_subset(labels, limit: int, seed: int = 0) -> np.ndarray:
    """Indices of at most `limit` seeded-random items of each class (sorted)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        keep.append(idx if len(idx) <= limit else rng.choice(idx, limit, replace=False))
    return np.sort(np.concatenate(keep))


NIGHTS_COLUMNS = ("ref_path", "left_path", "right_path", "left_vote", "right_vote")


def load_nights(root=None, split: str | None = None, size=None) -> Triplets:
    """NIGHTS triplets from `root/triplets.csv` (default: the shared `nights/`); `split` filters."""
    root = Path(root) if root is not None else data_root() / "nights"
    table = root / "triplets.csv"
    if not table.is_file():
        raise DataError(f"no NIGHTS table {table}; expected triplets.csv with columns "
                        f"{', '.join(NIGHTS_COLUMNS)}")
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in NIGHTS_COLUMNS if rows and c not in rows[0]]
    if missing or not rows:
        raise DataError(f"{table} lacks columns {missing or NIGHTS_COLUMNS}; "
                        f"expected {', '.join(NIGHTS_COLUMNS)}")
    if split is not None:
        rows = [r for r in rows if r.get("split") == split]
        if not rows:
            raise DataError(f"{table} has no rows with split={split!r}")
    ref = [_read_rgb(root / r["ref_path"], size) for r in rows]
    left = [_read_rgb(root / r["left_path"], size) for r in rows]
    right = [_read_rgb(root / r["right_path"], size) for r in rows]
    try:
        lv = np.array([float(r["left_vote"]) for r in rows])
        rv = np.array([float(r["right_vote"]) for r in rows])
    except ValueError as e:
        raise DataError(f"{table}: a vote is not a number ({e})") from e
    ids = [r.get("id") or r["ref_path"] for r in rows]
    where = str(root)
    return Triplets(_stack(ref, where), _stack(left, where), _stack(right, where), lv, rv, ids)


def describe_pair(name: str, mem: LabelledImages, qry: LabelledImages, source=None) -> dict:
    """What a stored result keeps of a classification set: sizes, images per class, classes."""
    per_m = np.bincount(mem.labels, minlength=mem.num_classes)
    per_q = np.bincount(qry.labels, minlength=mem.num_classes)
    h = hashlib.sha256(f"{mem.fingerprint()}+{qry.fingerprint()}".encode()).hexdigest()
    return {"name": name, "fingerprint": h, "kind": "classification", "source": source,
            "memory": len(mem), "queries": len(qry), "classes": mem.num_classes,
            "class_names": list(mem.class_names),
            "memory_per_class": [int(per_m.min()), int(per_m.max())] if len(per_m) else [0, 0],
            "queries_per_class": [int(per_q.min()), int(per_q.max())] if len(per_q) else [0, 0],
            "image_shape": list(mem.images.shape[1:])}


def resize_set(images: np.ndarray, size) -> np.ndarray:
    """Decoded images resized to `size` (int or (H, W)), or each passed through a callable."""
    if not callable(size):
        return resize_images(images, size)
    from PIL import Image

    return np.stack([np.asarray(size(Image.fromarray(im).convert("RGB"))) for im in images])
