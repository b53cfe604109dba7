"""Segmentation sets: image + label-map pairs of the same file name, at any size.

A label map holds one class id per pixel (PNG mode L, P or I); `void` marks pixels no class
covers (CamVid: 11; VOC- and COCO-style maps: 255). The classes are 0..num_classes-1, by
default 0 to the largest non-void label found. The layouts found under a folder are
`PAIRS` (CamVid's `val/` + `valannot/`, `images/` + `masks/`, VOC's `JPEGImages/` +
`SegmentationClass/`, ...), in the folder or one level below it (camvid/CamVid).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from procmem.eval.datasets import CAMVID_VOID, DataError, SegmentationSet, _read_rgb, _stack

PAIRS = (("val", "valannot"), ("test", "testannot"), ("train", "trainannot"),
         ("images", "masks"), ("images", "labels"), ("images", "annotations"),
         ("JPEGImages", "SegmentationClass"))
DEFAULT_VOID = 255
KNOWN = {"camvid": (11, CAMVID_VOID)}
"""Sets whose classes and void label are known by name: CamVid's 11 classes, void 11."""


def find_pairs(root: Path) -> tuple[Path, str, str] | None:
    """(folder, image sub-folder, mask sub-folder) of the first layout of PAIRS found in
    `root` or one level below it, or None."""
    for base in [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []:
        for image_dir, mask_dir in PAIRS:
            if (base / image_dir).is_dir() and (base / mask_dir).is_dir():
                return base, image_dir, mask_dir
    return None


def _read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as m:
        if m.mode not in ("L", "P", "I", "I;16"):
            raise DataError(f"{path} is a {m.mode} image; a label map holds one class id per pixel")
        if m.size != (shape[1], shape[0]):
            m = m.resize((shape[1], shape[0]), Image.NEAREST)
        return np.asarray(m).astype(np.int64)


def load_segmentation(root=None, image_dir: str | None = None, mask_dir: str | None = None,
                      num_classes: int | None = None, void: int | None = None, size=None,
                      limit: int | None = None, name: str | None = None) -> SegmentationSet:
    """Image + label-map pairs; `size` (int or (H, W)) resizes images bilinearly and maps by
    nearest neighbour. Unset `image_dir`/`mask_dir` are found (PAIRS); unset `num_classes` and
    `void` are the known set's (KNOWN) or inferred: void 255, classes 0..largest other label.
    A label >= num_classes that is not void is an error naming --num-classes and --void.
    """
    from procmem.encoder.imagefolder import IMAGE_SUFFIXES
    from procmem.eval.datasets import data_root

    if root is None:
        root, name = data_root() / "camvid" / "CamVid", name or "camvid"
    root = Path(root)
    name = name or root.name
    if image_dir is None or mask_dir is None:
        found = find_pairs(root)
        if found is None:
            raise DataError(f"segmentation set {root} has no image/label-map folders; expected one "
                            f"of {', '.join(f'{a}/ + {b}/' for a, b in PAIRS)} (or pass "
                            "--image-dir and --mask-dir)")
        root, image_dir, mask_dir = found[0], image_dir or found[1], mask_dir or found[2]
    idir, mdir = root / image_dir, root / mask_dir
    if not idir.is_dir() or not mdir.is_dir():
        raise DataError(f"segmentation set {root} needs {image_dir}/ and {mask_dir}/ "
                        "holding images and label maps of the same names")
    known = KNOWN.get(name.lower(), (None, None))
    void = known[1] if void is None and known[1] is not None else DEFAULT_VOID if void is None else void
    files = sorted(f for f in idir.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    images, masks, ids = [], [], []
    for f in files:
        mf = next((m for m in (mdir / f.name, mdir / (f.stem + ".png")) if m.is_file()), None)
        if mf is None:
            raise DataError(f"no label map for {f} in {mdir}; label maps must share the image's name")
        img = _read_rgb(f, size)
        images.append(img)
        masks.append(_read_mask(mf, img.shape[:2]))
        ids.append(f.name)
    if not images:
        raise DataError(f"no images in {idir}")
    stacked = _stack(images, str(idir))
    labels = np.stack(masks)
    if num_classes is None:
        num_classes = known[0] or int(labels[labels != void].max(initial=-1)) + 1
    bad = (labels >= num_classes) & (labels != void)
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(len(labels), -1).any(axis=1))[0])
        raise DataError(f"{mdir / ids[i]} has label {int(labels[i][bad[i]][0])} outside "
                        f"0..{num_classes - 1} and not void ({void}); pass --num-classes N and "
                        "--void V to match the data")
    return SegmentationSet(name, stacked, labels, int(num_classes), int(void), ids)


def describe_segmentation(segset: SegmentationSet, source=None) -> dict:
    """What a stored result keeps of a segmentation set."""
    kept = float(np.mean(segset.masks != segset.void)) if segset.masks.size else 0.0
    return {"name": segset.name, "fingerprint": segset.fingerprint(), "kind": "segmentation",
            "source": source, "images": len(segset), "classes": segset.num_classes,
            "void": segset.void, "labelled_pixels": kept,
            "image_shape": list(segset.images.shape[1:])}
