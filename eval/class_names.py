"""Readable class names: ImageNet wnids (n01440764) as words, npz label ids as their names.

ImageNet subsets name their class folders by WordNet id. A synset table beside the data
(`LOC_synset_mapping.txt`, `synset_words.txt` or `words.txt`: "n01440764 tench, Tinca tinca"
per line, as ImageNet's and Tiny ImageNet's releases ship) names any of them; without one the
ten Imagenette classes below are known. An npz names its labels with a `class_names` (or
`label_names`) array, or a `classes.txt` (one name a line) beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

IMAGENETTE = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball",
    "n03888257": "parachute",
}
"""Imagenette's classes (fastai/imagenette README: "tench, English springer, cassette player,
chain saw, church, French horn, garbage truck, gas pump, golf ball, parachute"), keyed by the
ImageNet wnids its folders carry."""
SYNSET_FILES = ("LOC_synset_mapping.txt", "synset_words.txt", "words.txt")
WNID = re.compile(r"^n\d{8}$")


def read_synsets(path: Path) -> dict[str, str]:
    """{wnid: first name} from a synset table ("n01440764 tench, Tinca tinca" or tab-separated)."""
    out = {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and WNID.match(parts[0]):
            out[parts[0]] = parts[1].split(",")[0].strip()
    return out


def folder_class_names(classes: list[str], where: Path, stop: Path | None = None) -> list[str]:
    """Class folder names, wnids replaced by words from a synset table found in `where` or a
    folder above it (up to `stop`), else from the Imagenette map; other names unchanged."""
    if not any(WNID.match(c) for c in classes):
        return list(classes)
    table: dict[str, str] = {}
    for folder in [where, *where.parents]:
        found = [folder / n for n in SYNSET_FILES if (folder / n).is_file()]
        if found:
            table = read_synsets(found[0])
            break
        if stop is not None and folder == stop:
            break
    return [table.get(c) or IMAGENETTE.get(c) or c for c in classes]


def npz_class_names(path: Path, z, n_classes: int) -> list[str]:
    """An npz set's label names: its `class_names`/`label_names` array, a `classes.txt`
    beside it, or the label ids."""
    for key in ("class_names", "label_names"):
        if key in z.files:
            names = [str(x) for x in z[key].ravel()]
            if len(names) >= n_classes:
                return names
    for side in (path.with_suffix(".classes.txt"), path.parent / "classes.txt"):
        if side.is_file():
            names = [s.strip() for s in side.read_text().splitlines() if s.strip()]
            if len(names) >= n_classes:
                return names
    return [str(i) for i in range(n_classes)]
