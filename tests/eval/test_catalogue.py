"""Data sets by name under a data root, recognised by layout; class names; official splits."""

import numpy as np
import pytest
from PIL import Image

from procmem.core.paths import shared_data_dir
from procmem.eval import catalogue as cat
from procmem.eval.datasets import DataError
from tests.eval.conftest import write_npz


def _folder(root, classes, n, size=8):
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (size, size), (10 * i, 40 * len(c), 90)).save(root / c / f"{i}.png")


def test_layouts_by_folder_name(tmp_path, data_root):
    # an ImageFolder with official splits: train -> memory, val -> queries
    _folder(tmp_path / "birds" / "train", ["jay", "owl"], 4)
    _folder(tmp_path / "birds" / "val", ["jay", "owl"], 2)
    mem, qry = cat.load_classification("birds", tmp_path)
    assert (len(mem), len(qry), mem.class_names) == (8, 4, ["jay", "owl"])
    assert mem.name == "birds-memory" and qry.ids[0] == "jay/0.png"
    # one split of an ImageFolder (as CIFAR-10's test/): a seeded stratified split
    _folder(tmp_path / "cars" / "test", ["a", "b"], 5)
    mem, qry = cat.load_classification("Cars", tmp_path, query_fraction=0.2)  # any case
    assert len(mem) + len(qry) == 10 and len(qry) == 2
    # a Keras-style npz with a classes.txt beside it
    x = np.zeros((6, 4, 4), np.uint8)
    write_npz(tmp_path / "fashion" / "fashion.npz", x_train=x, y_train=np.array([0, 1, 2] * 2),
              x_test=x[:3], y_test=np.array([0, 1, 2]))
    (tmp_path / "fashion" / "classes.txt").write_text("shirt\nshoe\nbag\n")
    mem, qry = cat.load_classification("fashion", tmp_path)
    assert mem.class_names == ["shirt", "shoe", "bag"] and len(qry) == 3
    assert cat.kind_of(data_root / "regions")[0] == "segmentation"
    assert cat.load_segmentation_set("regions", data_root, void=11).name == "regions"
    with pytest.raises(DataError, match="procmem eval segment --dataset regions"):
        cat.load_classification("regions", data_root)
    with pytest.raises(DataError, match=r"it holds: birds, cars, fashion"):
        cat.load_classification("flowers", tmp_path)
    with pytest.raises(DataError, match="image/label-map folders"):
        cat.load_segmentation_set("birds", tmp_path)


def test_imagenette_wnids_read_as_words(tmp_path):
    from procmem.eval.class_names import IMAGENETTE, folder_class_names

    assert folder_class_names(["n01440764", "n03888257"], tmp_path) == ["tench", "parachute"]
    (tmp_path / "LOC_synset_mapping.txt").write_text("n01440764 tench, Tinca tinca\n"
                                                     "n09999999 something, else\n")
    assert folder_class_names(["n09999999", "cat"], tmp_path / "sub") == ["something", "cat"]
    assert len(IMAGENETTE) == 10


@pytest.mark.skipif(shared_data_dir() is None, reason="no shared real data here")
def test_shared_imagenette_has_class_names():
    mem, _ = cat.load_classification("imagenette", limit_per_class=1)
    assert mem.class_names[0] == "tench" and "garbage truck" in mem.class_names
