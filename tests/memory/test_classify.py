"""Classifying your own photos (issue 14): `memory classify --model SPEC --images ...` takes
files, folders and patterns without labels, writes predictions.csv with class names and the
neighbours behind each decision, draws each query beside its neighbours, and prints no
accuracy."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from procmem.cli import main
from procmem.memory.embeddings import image_paths
from procmem.memory.errors import MemoryStoreError
from tests.memory.conftest import colour_folder


def _photo(path, red: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, (20, 20, 3), dtype=np.uint8)
    img[..., 0 if red else 2] += 190
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


@pytest.fixture
def memory(tmp_path):
    """A memory of 2 classes (class0 reddish, class1 bluish) under the pixels encoder."""
    data = colour_folder(tmp_path / "folder")
    assert main(["memory", "build", str(tmp_path / "mem"), "--model", "pixels", "--data",
                 str(data), "--quiet"]) == 0
    return tmp_path / "mem"


def test_image_paths_take_files_folders_and_patterns_once_each_in_order(tmp_path):
    for name in ("a/1.png", "a/deeper/2.jpg", "a/.hidden/3.png", "a/notes.txt", "b/4.JPEG",
                 "c.webp"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    got = image_paths([tmp_path / "c.webp", tmp_path / "a", str(tmp_path / "b" / "*.JPEG"),
                       tmp_path / "a" / "1.png", str(tmp_path / "**" / "2.jpg")])
    assert [p.relative_to(tmp_path).as_posix() for p in got] == [
        "c.webp", "a/1.png", "a/deeper/2.jpg", "b/4.JPEG"]
    assert image_paths([tmp_path / "a" / "notes.txt"]) == [tmp_path / "a" / "notes.txt"]  # as given
    (tmp_path / "empty").mkdir()
    for spec, says in ((tmp_path / "nothere", "no file or folder"),
                       (str(tmp_path / "*.gif"), "matches no image"),
                       (tmp_path / "empty", "holds no images")):
        with pytest.raises(MemoryStoreError, match=says):
            image_paths([spec])


def test_photos_without_labels_get_class_names_neighbours_and_a_picture(tmp_path, memory, capsys):
    for i in range(3):
        _photo(tmp_path / "new" / "trip" / f"red{i}.png", True, i)
    _photo(tmp_path / "loose" / "blue.jpg", False, 9)
    out = tmp_path / "out"
    assert main(["memory", "classify", str(memory), "--model", "pixels", "--images",
                 str(tmp_path / "new"), str(tmp_path / "loose" / "*.jpg"), "-k", "4",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 queries (photos without labels)" in printed
    assert "top-1" not in printed and "calibration" not in printed and "accuracy" not in printed
    assert not (out / "decisions.json").exists()
    with open(out / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["class"] for r in rows] == ["class0"] * 3 + ["class1"]
    assert rows[3]["path"].endswith("loose/blue.jpg") and "true_class" not in rows[0]
    for r in rows:
        assert 0.5 < float(r["confidence"]) <= 1.0
        assert r["top5_classes"].split("; ")[0] == r["class"]
        assert len(r["neighbour_ids"].split("; ")) == 4
        sources = r["neighbour_sources"].split("; ")
        assert all(f"/folder/{r['class']}/" in s for s in sources[:2])
        assert r["neighbour_classes"].split("; ")[0] == r["class"]
    assert Image.open(out / "neighbours.png").size[0] >= 5 * 96  # a query and its 4 neighbours
    assert f"picture: {out / 'neighbours.png'}" in printed


def test_many_queries_are_drawn_in_pages_up_to_a_cap_and_all_listed(tmp_path, memory, capsys):
    for i in range(30):
        _photo(tmp_path / "many" / f"{i:02d}.png", i % 2 == 0, i)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "neighbours-07.png").write_bytes(b"a page of an earlier run")
    assert main(["memory", "classify", str(memory), "--model", "pixels", "--images",
                 str(tmp_path / "many"), "--out", str(out), "--pictures", "27", "--limit", "2"]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.png")) == ["neighbours-01.png", "neighbours-02.png"]
    assert "the pictures show the first 27 of 30 queries" in printed
    assert "... 28 more in predictions.csv" in printed
    assert len((out / "predictions.csv").read_text().splitlines()) == 31
    default = tmp_path / "mem.predictions"  # without --out: beside the memory, and said
    assert main(["memory", "classify", str(memory), "--model", "pixels", "--images",
                 str(tmp_path / "many" / "00.png"), "--pictures", "0"]) == 0
    assert f"predictions: {default / 'predictions.csv'}" in capsys.readouterr().out
    assert not list(default.glob("*.png"))


def test_photos_are_refused_before_embedding_when_the_encoder_is_not_the_memorys(tmp_path, memory,
                                                                                 capsys):
    _photo(tmp_path / "q.png", True, 0)
    assert main(["memory", "classify", str(memory), "--model", "pixels:16", "--images",
                 str(tmp_path / "q.png")]) == 2
    err = capsys.readouterr().err
    assert "encoder pixels:16:4" in err and "built with encoder pixels:32:4" in err
    assert "embed:" not in err  # nothing was embedded
    assert main(["memory", "classify", str(memory), "--images", str(tmp_path / "q.png")]) == 2
    assert "--images needs --model" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # build needs labels: it takes no --images
        main(["memory", "build", str(tmp_path / "m2"), "--model", "pixels", "--images",
              str(tmp_path / "q.png")])
    assert "unrecognized arguments: --images" in capsys.readouterr().err
    assert main(["memory", "query", str(memory), "--model", "pixels", "--images",
                 str(tmp_path / "q.png"), "-k", "2"]) == 0
    assert "class0" in capsys.readouterr().out
