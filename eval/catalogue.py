"""Data sets by name or by path: whatever sits under the data root, recognised by its layout.

`--dataset NAME` is a folder (or `.npz`) of that name under the data root (case-insensitive;
`cifar10`, `imagenette` and `pneumoniamnist` keep their shared-data paths, NAMED_SETS), or a
path. Layouts, tried in this order:

- an `.npz` file, or a folder holding one: MedMNIST / Keras arrays, official train -> memory,
  test -> queries;
- an ImageFolder with official splits, `train/` + `val/` (or `test/`): train -> memory;
- an ImageFolder of class folders, or a folder holding one split of it (`test/`, as
  CIFAR-10's): a seeded stratified memory/query split (`query_fraction`);
- image + label-map pairs (eval.segmentation_data.PAIRS): a segmentation set.

Every set is named by its folder (or file stem), and that name titles its tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from procmem.eval.datasets import (
    DataError,
    LabelledImages,
    data_root,
    list_image_folder,
    load_npz,
    per_class_subset,
    read_image_folder,
    stratified_split,
)

NAMED_SETS = {
    "cifar10": "cifar10/test",
    "imagenette": "imagenette/val",
    "pneumoniamnist": "pneumoniamnist/pneumoniamnist.npz",
}
"""Classification sets in the shared data folder (see its README.md)."""
SPLITS = ("train", "val", "test")


def _has_images(folder: Path) -> bool:
    from procmem.encoder.imagefolder import IMAGE_SUFFIXES

    return any(f.suffix.lower() in IMAGE_SUFFIXES for f in folder.iterdir() if f.is_file())


def _is_image_folder(folder: Path) -> bool:
    subs = [d for d in folder.iterdir() if d.is_dir()] if folder.is_dir() else []
    return bool(subs) and any(_has_images(d) for d in subs)


def kind_of(path: Path) -> tuple[str, Path]:
    """(layout, the path to read): 'npz', 'split' (train/ + val|test/), 'imagefolder' or
    'segmentation'; a clear error when the path is none of them."""
    from procmem.eval.segmentation_data import find_pairs

    if path.is_file():
        if path.suffix == ".npz":
            return "npz", path
        raise DataError(f"{path} is a file but not an .npz; give an .npz or a folder")
    npz = sorted(path.glob("*.npz"))
    if npz:
        same = [f for f in npz if f.stem.lower() == path.name.lower()]
        return "npz", (same or npz)[0]
    present = [s for s in SPLITS if _is_image_folder(path / s)]
    if "train" in present and len(present) > 1:
        return "split", path
    if find_pairs(path) is not None:
        return "segmentation", path
    if len(present) == 1:
        return "imagefolder", path / present[0]
    if _is_image_folder(path):
        return "imagefolder", path
    raise DataError(f"{path} is not a data set: expected an .npz, class folders of images "
                    "(ImageFolder), train/ + val/ splits of them, or image/label-map folders")


def find(spec: str, root=None) -> tuple[Path, str]:
    """(path, name) of a data set given by name (NAMED_SETS, or a folder or .npz under the data
    root) or by path."""
    if spec in NAMED_SETS:
        return data_root(root) / NAMED_SETS[spec], spec
    p = Path(spec)
    if p.exists():
        return p, p.stem if p.suffix == ".npz" else p.name
    if "/" in spec or spec.endswith(".npz"):
        raise DataError(f"no data set {spec!r}: that path does not exist")
    try:
        base = data_root(root)
    except DataError as e:
        raise DataError(f"no data set {spec!r} ({e})") from None
    entries = {e.name.lower(): e for e in base.iterdir() if not e.name.startswith(".")}
    hit = entries.get(spec.lower()) or entries.get(f"{spec.lower()}.npz")
    if hit is None:
        raise DataError(f"no data set {spec!r} under {base}; it holds: "
                        f"{', '.join(sorted(e.name for e in entries.values())) or 'nothing'} "
                        "(or give a path to an ImageFolder tree, a .npz or image/label-map folders)")
    return hit, spec


def _names(path: Path, classes: list[str], root) -> list[str]:
    from procmem.eval.class_names import folder_class_names

    stop = None
    try:
        stop = data_root(root)
    except DataError:
        pass
    return folder_class_names(classes, path, stop)


def load_classification(spec: str, root=None, query_fraction: float = 0.2, seed: int = 0,
                        limit_per_class: int | None = None, size=None
                        ) -> tuple[LabelledImages, LabelledImages]:
    """A (memory, query) pair (module docstring); `limit_per_class` caps the memory side per
    class (queries: a quarter of it), choosing before any image is decoded; `size` resizes."""
    from procmem.eval.datasets import resize_set

    path, name = find(spec, root)
    kind, path = kind_of(path)
    if kind == "segmentation":
        raise DataError(f"{spec} is a segmentation set (image/label-map pairs); evaluate it with "
                        f"`procmem eval segment --dataset {spec}`")
    q_limit = None if limit_per_class is None else max(1, limit_per_class // 4)
    if kind == "npz":
        mem, qry = load_npz(path, "train", name=name), load_npz(path, "test", name=name)
        if limit_per_class is not None:
            mem = mem.subset(per_class_subset(mem.labels, limit_per_class, seed))
            qry = qry.subset(per_class_subset(qry.labels, q_limit, seed))
        if size is not None:
            mem.images, qry.images = resize_set(mem.images, size), resize_set(qry.images, size)
    elif kind == "split":
        query_split = "val" if _is_image_folder(path / "val") else "test"
        mem, qry = (_read_split(path / s, lim, seed, size, name, root)
                    for s, lim in (("train", limit_per_class), (query_split, q_limit)))
        if mem.class_names != qry.class_names:
            raise DataError(f"{path}: train/ and {query_split}/ hold different classes")
    else:
        files, labels, classes = list_image_folder(path)
        mi, qi = stratified_split(labels, query_fraction, seed)
        if limit_per_class is not None:  # subset before decoding: only read what is used
            mi = mi[per_class_subset(labels[mi], limit_per_class, seed)]
            qi = qi[per_class_subset(labels[qi], q_limit, seed)]
        classes = _names(path, classes, root)
        mem, qry = (read_image_folder(path, [files[i] for i in ix], labels[ix], classes, size, name)
                    for ix in (mi, qi))
    mem.name, qry.name = f"{name}-memory", f"{name}-query"
    return mem, qry


def _read_split(folder: Path, limit, seed, size, name, root) -> LabelledImages:
    files, labels, classes = list_image_folder(folder)
    keep = np.arange(len(files)) if limit is None else per_class_subset(labels, limit, seed)
    return read_image_folder(folder, [files[i] for i in keep], labels[keep],
                             _names(folder, classes, root), size, name)


def load_segmentation_set(spec: str | None, root=None, **kwargs):
    """A segmentation set by name (a folder under the data root) or path; None: CamVid."""
    from procmem.eval.segmentation_data import load_segmentation

    if spec is None:
        return load_segmentation(None, **kwargs)
    path, name = find(spec, root)
    kind, _ = kind_of(path)
    if kind != "segmentation":
        raise DataError(f"{spec} ({path}) has no image/label-map folders; segmentation needs one "
                        "of the layouts of eval/segmentation_data.py (CamVid's val/ + valannot/, "
                        "images/ + masks/, ...)")
    return load_segmentation(path, name=kwargs.pop("name", None) or name, **kwargs)
