"""The demo's real images: built-in digits and faces, or a user's ImageFolder, split 80/20."""

from __future__ import annotations

from procmem.core.errors import ProcmemError

DEFAULT_FORGET = "face"
HELD_BACK = 0.2


def builtin_images(size: int):
    """scikit-learn's digits (10 classes) and scikit-image's lfw_subset (face, not a face) as
    one labelled set of uint8 RGB images `size` px wide; nothing is downloaded."""
    import numpy as np
    from skimage.data import lfw_subset

    from procmem.eval.datasets import LabelledImages, resize_images, sklearn_digits

    d, digit_labels = sklearn_digits()
    faces = lfw_subset()  # 100 faces, then 100 patches of background
    if faces.dtype != np.uint8:
        faces = np.round(np.clip(faces, 0, 1) * 255).astype(np.uint8)
    grey = np.concatenate([resize_images(d, size), resize_images(faces, size)])
    images = np.repeat(grey[..., None], 3, axis=-1)
    labels = np.concatenate([digit_labels, np.full(100, 10), np.full(100, 11)])
    names = [f"digit {i}" for i in range(10)] + ["face", "not a face"]
    ids = [f"digits/{i}" for i in range(len(d))] + [f"lfw_subset/{i}" for i in range(200)]
    return LabelledImages("digits+faces", images, labels, names, ids)


def real_images(data: str | None, size: int, per_class: int, seed: int = 0):
    """(memory set, query set): each class split 80/20, seeded and stratified."""
    from procmem.eval.catalogue import load_classification
    from procmem.eval.datasets import per_class_subset, stratified_split

    limit = per_class or None
    if data is not None:
        mem, qry = load_classification(data, query_fraction=HELD_BACK, seed=seed,
                                       limit_per_class=limit, size=size)
    else:
        everything = builtin_images(size)
        if limit:
            everything = everything.subset(per_class_subset(everything.labels, limit, seed))
        mi, qi = stratified_split(everything.labels, HELD_BACK, seed)
        mem, qry = everything.subset(mi, "digits+faces-memory"), everything.subset(qi, "digits+faces-query")
    if mem.num_classes < 2 or len(set(mem.labels.tolist())) < 2 or len(qry) == 0:
        raise ProcmemError(f"--data {data}: the demo needs at least 2 classes with 2 or more "
                           f"images each (found {len(mem) + len(qry)} images in "
                           f"{mem.num_classes} classes); arrange them as <folder>/<class>/<image>")
    return mem, qry


def forget_label(names: list[str], wanted: str | None, builtin: bool) -> int:
    """The label of the class the demo forgets: `wanted`, or 'face' / the first class."""
    name = wanted or (DEFAULT_FORGET if builtin else names[0])
    if name not in names:
        raise ProcmemError(f"--forget {name!r}: no such class; choose one of {', '.join(names)}")
    return names.index(name)
