"""Loaders on tiny generated trees / npz / csv / mask pairs; shared-data tests skip cleanly."""

import numpy as np
import pytest

from procmem.core.errors import ProcmemError
from procmem.core.paths import shared_data_dir
from procmem.eval import catalogue as cat
from procmem.eval import datasets as ds


def test_image_folder_from_lfw_subset(tmp_path):
    from PIL import Image
    from skimage import data

    faces = data.lfw_subset()  # 100 faces then 100 non-faces, 25x25 float
    for cls, block in (("face", faces[:12]), ("other", faces[100:110])):
        (tmp_path / cls).mkdir()
        for i, im in enumerate(block):
            Image.fromarray((im * 255).astype(np.uint8)).save(tmp_path / cls / f"{i:02d}.png")
    (tmp_path / "face" / "notes.txt").write_text("not an image")
    s = ds.load_image_folder(tmp_path)
    assert s.class_names == ["face", "other"]
    assert s.images.shape == (22, 25, 25, 3) and s.images.dtype == np.uint8
    assert np.bincount(s.labels).tolist() == [12, 10]
    assert s.ids[0] == "face/00.png"
    lim = ds.load_image_folder(tmp_path, limit_per_class=4, size=16)
    assert lim.images.shape == (8, 16, 16, 3)
    mem, qry = cat.load_classification(str(tmp_path), query_fraction=0.25, seed=3)
    assert len(mem) + len(qry) == 22 and set(mem.ids).isdisjoint(qry.ids)
    mem2, _ = cat.load_classification(str(tmp_path), query_fraction=0.25, seed=3)
    assert mem.ids == mem2.ids  # deterministic


def test_image_folder_errors(tmp_path):
    with pytest.raises(ProcmemError, match="does not exist"):
        ds.load_image_folder(tmp_path / "nope")
    with pytest.raises(ProcmemError, match="no class subfolders"):
        ds.load_image_folder(tmp_path)
    from PIL import Image

    (tmp_path / "a").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "1.png")
    Image.new("RGB", (9, 8)).save(tmp_path / "a" / "2.png")
    with pytest.raises(ds.DataError, match="--res"):
        ds.load_image_folder(tmp_path)
    (tmp_path / "a" / "3.png").write_bytes(b"garbage")
    with pytest.raises(ProcmemError, match="3.png"):
        ds.load_image_folder(tmp_path, size=8)


def test_npz_loader_and_errors(digits_npz, tmp_path):
    s = ds.load_npz(digits_npz, "train")
    assert s.images.shape == (400, 8, 8) and s.labels.shape == (400,) and s.num_classes == 10
    with pytest.raises(ds.DataError, match="choose a split"):
        ds.load_npz(digits_npz, "holdout")
    bad = tmp_path / "bad.npz"
    np.savez(bad, train_images=np.zeros((2, 4, 4), np.float32), train_labels=np.zeros((2, 1)))
    with pytest.raises(ds.DataError, match="uint8"):
        ds.load_npz(bad, "train")
    mem, qry = cat.load_classification(str(digits_npz), limit_per_class=8)
    assert np.bincount(mem.labels).max() <= 8 and np.bincount(qry.labels).max() <= 2


def test_stratified_split_keeps_class_shares():
    labels = np.repeat(np.arange(4), [10, 20, 5, 2])
    m, q = ds.stratified_split(labels, 0.2, seed=1)
    assert len(np.intersect1d(m, q)) == 0 and len(m) + len(q) == len(labels)
    assert np.bincount(labels[q], minlength=4).tolist() == [2, 4, 1, 1]
    m2, q2 = ds.stratified_split(labels, 0.2, seed=1)
    assert np.array_equal(q, q2)
    with pytest.raises(ds.DataError):
        ds.stratified_split(labels, 1.5)


def test_nights_loader(nights_like, tmp_path):
    t = ds.load_nights(nights_like)
    assert len(t) == 6 and t.ref.shape == (6, 16, 16, 3)
    assert ds.load_nights(nights_like, split="val").left_vote.tolist() == [1.0, 1.0]
    (tmp_path / "triplets.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ds.DataError, match="lacks columns"):
        ds.load_nights(tmp_path)


def test_segmentation_loader(camvid_like, tmp_path):
    from procmem.eval.segmentation_data import load_segmentation

    s = load_segmentation(camvid_like, num_classes=3, void=11)
    assert s.images.shape == (8, 32, 32, 3) and s.masks.shape == (8, 32, 32)
    assert set(np.unique(s.masks)) <= {0, 1, 2, 11} and s.name == camvid_like.name
    small = load_segmentation(camvid_like, void=11, size=16, limit=2)  # classes inferred: 0..2
    assert small.masks.shape == (2, 16, 16) and set(np.unique(small.masks)) <= {0, 1, 2, 11}
    assert small.num_classes == 3
    with pytest.raises(ds.DataError, match="outside 0..1 and not void .11.; pass --num-classes"):
        load_segmentation(camvid_like, num_classes=2, void=11)
    with pytest.raises(ds.DataError, match="valannot"):
        load_segmentation(tmp_path)


needs_shared = pytest.mark.skipif(shared_data_dir() is None, reason="no shared real data here")


@needs_shared
def test_shared_sets_load():
    mem, qry = cat.load_classification("pneumoniamnist", limit_per_class=5)
    assert mem.num_classes == 2 and mem.images.shape[1:] == (28, 28)
    mem, qry = cat.load_classification("cifar10", limit_per_class=3)
    assert mem.num_classes == 10 and mem.images.shape[1:] == (32, 32, 3)
    t = ds.load_nights(split="test")
    assert len(t) > 0 and t.ref.shape[1:] == (224, 224, 3)
    from procmem.eval.segmentation_data import load_segmentation

    s = load_segmentation(limit=2)
    assert s.masks.max() <= 11 and s.images.shape[1:] == (360, 480, 3)
    assert (s.name, s.num_classes, s.void) == ("camvid", 11, 11)


def test_missing_shared_data_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PROCMEM_DATA", str(tmp_path / "absent"))
    with pytest.raises(ds.DataError, match="PROCMEM_DATA"):
        cat.load_classification("cifar10")
