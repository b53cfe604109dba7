"""Reading an ImageFolder (`<root>/<class>/<image>`): class subfolders give the labels.

Used by `procmem embed`, the memory, the evaluation and the online kNN probe; these are
real images, so they are only ever embedded, never trained on.
"""

from __future__ import annotations

from pathlib import Path

from procmem.core.errors import ProcmemError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class ImageFolderError(ProcmemError):
    """A folder that is not an ImageFolder, or an image in it that cannot be read."""


def list_image_folder(root: str | Path, per_class: int = 0) -> tuple[list[Path], list[int], list[str]]:
    """(paths, labels, label_names), classes sorted by name, files sorted within a class.

    `per_class` > 0 keeps the first that many images of each class.
    """
    root = Path(root)
    if not root.is_dir():
        raise ImageFolderError(f"image folder {root} does not exist")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ImageFolderError(f"{root} has no class subfolders; arrange images as "
                               f"{root}/<class>/<image>.jpg")
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if per_class > 0:
            files = files[:per_class]
        paths += files
        labels += [label] * len(files)
    if not paths:
        raise ImageFolderError(f"{root} has class folders {classes[:5]} but no images "
                               f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    return paths, labels, classes


def read_rgb(path: str | Path):
    """A PIL RGB image; a clear error naming the file when it is not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageFolderError(f"image {path} cannot be read ({e}); remove or replace it") from None
