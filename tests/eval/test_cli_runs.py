"""Every eval command end to end on small data (raw pixels and a tiny random ViT), then the report."""

import json
import re

import pytest

from procmem.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tmp_path_factory.mktemp("run")


def _eval(run, *args):
    assert main(["eval", *args, "--out", str(run), "--quiet"]) == 0


def test_tables_and_audits(run, digits_npz, random_vit, capsys):
    data = ["--dataset", str(digits_npz), "--per-class", "20"]
    vit = "random:vit_tiny_patch16_224:32:0"
    _eval(run, "knn", *data, "--encoder", "pixels:8:2", "--encoder", vit)
    knn = json.loads((run / "knn.json").read_text())["results"]
    assert set(knn) == {"pixels-8", "random-vit_tiny_patch16_224-32-0"}
    r = knn["pixels-8"]["digits"]
    assert r["memory_size"] == 200 and r["ks"] == [1, 5, 10, 20, 50, 100, 200]
    assert r["fixed"]["rank"] > 0.8
    assert "best over k" in (run / "knn.md").read_text()
    assert list((run / "cache").glob("*.npz"))              # features cached for reruns
    _eval(run, "linear", *data, "--encoder", "pixels:8:2")
    assert json.loads((run / "linear.json").read_text())["results"]["pixels-8"]["digits"]["accuracy"] > 0.7
    _eval(run, "privacy", *data, "--encoder", "pixels:8:2", "-k", "1", "-k", "10")
    rows = json.loads((run / "privacy.json").read_text())["rows"]
    assert {(r["rule"], r["k"]) for r in rows} == {("plurality", 1), ("plurality", 10),
                                                   ("rank", 1), ("rank", 10)}
    _eval(run, "scaling", *data, "--encoder", "pixels:8:2")
    sc = json.loads((run / "scaling.json").read_text())
    assert sc["sizes"][-1] == 200 and sc["fit"]["rank"]["slope"] < 0  # more memory, less error
    _eval(run, "unlearn", *data, "--encoder", "pixels:8:2", "--forget-class", "3")
    un = json.loads((run / "unlearn.json").read_text())
    assert un["forgotten"] == 20 and un["forget_quality"]["passed"]
    assert un["forget_quality"]["forgotten_ids_retrieved"] == 0
    assert un["utility"]["accuracy_kept_classes_after"] > 0.8
    _eval(run, "add-classes", *data, "--encoder", "pixels:8:2")
    ac = json.loads((run / "add_classes.json").read_text())
    assert ac["new_classes"] == [5, 6, 7, 8, 9] and ac["new_accuracy_after"] > 0.7
    capsys.readouterr()


def test_nights_and_segment(run, nights_like, camvid_like, random_vit):
    _eval(run, "nights", "--nights-dir", str(nights_like), "--encoder", "pixels:16")
    n = json.loads((run / "nights.json").read_text())["results"]["pixels-16"]
    # left is the reference itself: the model always picks left; humans: 4 left, 1 right, 1 tie
    assert n["n"] == 6 and n["human_ties"] == 1 and n["agreement"] == pytest.approx(4.5 / 6)
    _eval(run, "segment", "--seg-root", str(camvid_like), "--num-classes", "3",
          "--encoder", "pixels:32:4", "--encoder", "random:vit_tiny_patch16_224:32:0",
          "--components", "3", "--components", "8", "-k", "5")
    seg = json.loads((run / "segment.json").read_text())["results"]
    assert seg["pixels-32"]["r2_pca3"]["r2"] > 0.8 and seg["pixels-32"]["knn"]["miou"] > 0.7
    assert seg["random-vit_tiny_patch16_224-32-0"]["grid"] == [2, 2]


def test_report_references_only_existing_files(run):
    (run / "pictures" / "stray.png").write_bytes(b"\x89PNG")  # an unclaimed picture still shows
    assert main(["eval", "report", str(run)]) == 0
    page = (run / "report.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs and all((run / r).is_file() for r in refs)
    assert "http" not in "".join(refs) and "<script" not in page
    pngs = {p.relative_to(run).as_posix() for p in (run / "pictures").glob("*.png")}
    assert pngs == set(refs)
    for section in ("kNN classification", "Linear probe", "NIGHTS", "Segmentation", "Privacy",
                    "scaling", "Unlearning", "Adding classes"):
        assert section in page
    assert "<table>" in page


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    assert main(["eval", "knn", "--dataset", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "no data set" in capsys.readouterr().err
    assert main(["eval", "report", str(tmp_path / "absent")]) == 2
    assert main(["eval", "compartment", "--out", str(tmp_path)]) == 2
    assert main(["eval", "knn", "--encoder", "bogus", "--out", str(tmp_path)]) == 2
