"""The paper's evaluation sets under a data root: Flowers102, CUB200, Food101, ImageNet-1K,
NIGHTS, MedMNIST and COCO, each found by its usual folder name and read with its official
split (memory = train, queries = the split the authors' scripts use).

Layouts: any of eval.catalogue's (an ImageFolder with `train/` + `val/`, an npz, image/label
maps), or the sets' own releases: CUB_200_2011 (`images.txt`, `image_class_labels.txt`,
`train_test_split.txt`, `classes.txt`), Food-101 (`images/`, `meta/train.txt`,
`meta/test.txt`), Flowers102 as torchvision keeps it (`jpg/`, `imagelabels.mat`, `setid.mat`;
the authors' eval_knn_flowers.py uses its train and val splits). Images are decoded through
the protocol's load transform (eval.paper_protocol.load_transform), so sets of mixed sizes
stack; every image is held in memory, so ImageNet-1K in full (1.28 M images) needs
`--per-class`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from procmem.eval.datasets import DataError, LabelledImages, _read_rgb, per_class_subset

SETS = (("Flowers102", ("flowers102", "flowers-102", "flowers")),
        ("CUB200", ("cub200", "cub_200_2011", "cub-200-2011", "cub")),
        ("Food101", ("food101", "food-101")),
        ("ImageNet-1K", ("imagenet-1k", "imagenet", "ilsvrc2012")),
        ("NIGHTS", ("nights",)),
        ("MedMNIST", ("medmnist",)),
        ("COCO", ("coco", "coco2017", "coco-2017", "coco128", "coco-128")))


def find_sets(root: Path) -> dict[str, Path]:
    """{set: path} of the paper's sets present under `root` (MedMNIST: every `*mnist*` npz or
    folder of them, one entry each, e.g. MedMNIST/pneumoniamnist)."""
    entries = {e.name.lower(): e for e in root.iterdir() if not e.name.startswith(".")}
    found = {}
    for name, folders in SETS:
        hit = next((entries[f] for f in folders if f in entries), None)
        if name == "MedMNIST":
            npz = sorted(hit.rglob("*.npz")) if hit else []
            npz += [f for e, p in sorted(entries.items()) if "mnist" in e and e != "medmnist"
                    for f in (sorted(p.glob("*.npz")) if p.is_dir() else [p] if p.suffix == ".npz" else [])]
            found.update({f"MedMNIST/{f.stem.removesuffix('_224')}": f for f in npz})
        elif hit is not None:
            found[name] = hit
    return found


def _decode(paths, labels, classes, name, transform, limit, seed) -> LabelledImages:
    labels = np.asarray(labels, np.int64)
    keep = np.arange(len(paths)) if limit is None else per_class_subset(labels, limit, seed)
    if not len(keep):
        raise DataError(f"{name}: no images")
    images = np.stack([_read_rgb(Path(paths[i]), transform) for i in keep])
    return LabelledImages(name, images, labels[keep], list(classes),
                          [Path(paths[i]).name for i in keep])


def _cub(base: Path):
    rows = lambda f: [ln.split() for ln in (base / f).read_text().splitlines() if ln.strip()]  # noqa: E731
    path = {i: base / "images" / p for i, p in rows("images.txt")}
    label = {i: int(c) - 1 for i, c in rows("image_class_labels.txt")}
    train = {i: t == "1" for i, t in rows("train_test_split.txt")}
    classes = [c.split(".", 1)[-1] for _, c in rows("classes.txt")]
    split = {s: [i for i in path if train[i] == (s == "train")] for s in ("train", "test")}
    return {s: ([path[i] for i in ids], [label[i] for i in ids]) for s, ids in split.items()}, classes


def _food(base: Path):
    classes = sorted(p.name for p in (base / "images").iterdir() if p.is_dir())
    index = {c: i for i, c in enumerate(classes)}
    out = {}
    for s in ("train", "test"):
        items = [ln.strip() for ln in (base / "meta" / f"{s}.txt").read_text().splitlines() if ln.strip()]
        out[s] = ([base / "images" / f"{it}.jpg" for it in items], [index[it.split("/")[0]] for it in items])
    return out, [c.replace("_", " ") for c in classes]


def _flowers(base: Path):
    from scipy.io import loadmat

    labels = loadmat(base / "imagelabels.mat")["labels"].ravel().astype(np.int64) - 1
    ids = loadmat(base / "setid.mat")
    out = {}
    for s, key in (("train", "trnid"), ("val", "valid")):
        ix = ids[key].ravel().astype(np.int64)
        out[s] = ([base / "jpg" / f"image_{i:05d}.jpg" for i in ix], labels[ix - 1])
    return out, [str(i) for i in range(int(labels.max()) + 1)]


NATIVE = (("images.txt", _cub), ("meta/train.txt", _food), ("imagelabels.mat", _flowers))


def load_set(name: str, path: Path, transform, per_class: int | None = None, seed: int = 0
             ) -> tuple[LabelledImages, LabelledImages]:
    """(memory, queries) of one of the paper's classification sets."""
    from procmem.eval.catalogue import load_classification

    for base in [path, *sorted(p for p in path.iterdir() if p.is_dir())] if path.is_dir() else []:
        for marker, reader in NATIVE:
            if (base / marker).is_file():
                splits, classes = reader(base)
                mem_s, qry_s = list(splits)
                q_limit = None if per_class is None else max(1, per_class // 4)
                return (_decode(*splits[mem_s], classes, f"{name}-memory", transform, per_class, seed),
                        _decode(*splits[qry_s], classes, f"{name}-query", transform, q_limit, seed))
    if path.suffix == ".npz":  # MedMNIST: the authors' train / val folders
        from procmem.eval.datasets import load_npz, resize_set

        q_limit = None if per_class is None else max(1, per_class // 4)
        mem, qry = load_npz(path, "train", name=name), load_npz(path, "val", name=name)
        if per_class is not None:
            mem = mem.subset(per_class_subset(mem.labels, per_class, seed))
            qry = qry.subset(per_class_subset(qry.labels, q_limit, seed))
        mem.images, qry.images = resize_set(mem.images, transform), resize_set(qry.images, transform)
        mem.name, qry.name = f"{name}-memory", f"{name}-query"
        return mem, qry
    return load_classification(str(path), limit_per_class=per_class, seed=seed, size=transform)
