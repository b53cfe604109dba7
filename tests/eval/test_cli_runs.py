"""Every eval command end to end on small data found by name under a data root: results that
accumulate across calls, intervals and paired differences, progress, audits side by side."""

import json
import re

import pytest

from procmem.cli import main
from procmem.eval import store

VIT = "random:vit_tiny_patch16_224:32:0"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tmp_path_factory.mktemp("run")


def _eval(run, root, *args):
    assert main(["eval", *args, "--out", str(run), "--data-root", str(root), "--quiet"]) == 0


def test_knn_results_accumulate_with_intervals_and_paired_differences(run, data_root,
                                                                       learned_export, capsys):
    data = ["--dataset", "digits", "--per-class", "20"]
    _eval(run, data_root, "knn", *data, "--encoder", learned_export, "--encoder", VIT)
    _eval(run, data_root, "knn", *data, "--dataset", "faces", "--encoder", "pixels:8:2")
    knn = json.loads((run / "knn.json").read_text())["results"]
    assert set(knn) == {"procmem-mine", "random-vit_tiny_patch16_224-32-0", "pixels-8"}  # calls add
    assert set(knn["pixels-8"]) == {"digits", "faces"}
    r = knn["pixels-8"]["digits"]
    assert r["memory_size"] == 200 and r["ks"] == [1, 5, 10, 20, 50, 100, 200]
    assert r["fixed"]["rank"] > 0.8
    assert list((run / "cache").glob("*.npz"))              # features cached for reruns
    assert len(list((run / "results" / "knn").glob("*.json"))) == 4
    md = (run / "knn.md").read_text()
    assert re.search(r"\| pixels-8 \(raw pixels\) \| \d+\.\d \[\d+\.\d, \d+\.\d\] n=50", md)
    assert "best k=" in md and "optimistic" in md
    rows = json.loads((run / "knn.json").read_text())["comparisons"]["softmax"]
    mine = next(x for x in rows if x["encoder"] == "procmem-mine")
    assert mine["random"]["against"] == "random-vit_tiny_patch16_224-32-0"  # same network, seed
    assert mine["pixels"]["against"] == "pixels-8"
    assert mine["random"]["low"] <= mine["random"]["diff"] <= mine["random"]["high"]
    assert mine["random"]["verdict"] in ("better", "worse", "tie")
    assert "procmem-mine - random-vit_tiny_patch16_224-32-0" in md
    # the same call again replaces its own records instead of adding rows
    _eval(run, data_root, "knn", *data, "--dataset", "faces", "--encoder", "pixels:8:2")
    assert len(list((run / "results" / "knn").glob("*.json"))) == 4
    # class names: the npz's own names, the wnids' words from the synset table
    names = {rec["dataset"]["name"]: rec["dataset"]["class_names"]
             for rec in store.records(run, "knn")}
    assert names["digits"][:2] == ["zero", "one"] and names["faces"] == ["face", "not a face"]
    capsys.readouterr()


def test_linear_probe_shows_progress(run, data_root, capsys, monkeypatch):
    monkeypatch.setenv("PROCMEM_PROGRESS", "plain")
    assert main(["eval", "linear", "--dataset", "digits", "--per-class", "20", "--encoder",
                 "pixels:8:2", "--out", str(run), "--data-root", str(data_root)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"linear probe: 1/1 result \(100%\)", err)
    lin = json.loads((run / "linear.json").read_text())["results"]["pixels-8"]["digits"]
    assert lin["accuracy"] > 0.7
    assert (run / "linear.md").read_text().count("Linear probe") == 1


def test_audits_of_several_encoders_sit_side_by_side(run, data_root):
    data = ["--dataset", "digits", "--per-class", "20"]
    _eval(run, data_root, "privacy", *data, "--encoder", "pixels:8:2", "-k", "1", "-k", "10")
    _eval(run, data_root, "privacy", *data, "--encoder", VIT, "-k", "1")
    rows = json.loads((run / "privacy.json").read_text())["rows"]
    assert {(r["encoder"], r["rule"], r["k"]) for r in rows} == {
        ("pixels-8", "plurality", 1), ("pixels-8", "plurality", 10), ("pixels-8", "rank", 1),
        ("pixels-8", "rank", 10), ("random-vit_tiny_patch16_224-32-0", "plurality", 1),
        ("random-vit_tiny_patch16_224-32-0", "rank", 1)}
    md = (run / "privacy.md").read_text()
    assert "pixels-8 (raw pixels)" in md and "random-vit_tiny_patch16_224-32-0 (random init)" in md
    assert re.search(r"\d+\.\d \[\d+\.\d, \d+\.\d\] n=50", md)
    _eval(run, data_root, "scaling", *data, "--encoder", "pixels:8:2")
    sc = json.loads((run / "scaling.json").read_text())["curves"][0]
    assert sc["sizes"][-1] == 200 and sc["fit"]["rank"]["slope"] < 0  # more memory, less error
    _eval(run, data_root, "unlearn", *data, "--encoder", "pixels:8:2", "--forget-class", "3")
    un = json.loads((run / "unlearn.json").read_text())
    assert un["forgotten"] == 20 and un["forget_quality"]["passed"]
    assert un["forget_quality"]["forgotten_ids_retrieved"] == 0
    assert un["utility"]["accuracy_kept_classes_after"] > 0.8
    _eval(run, data_root, "add-classes", *data, "--encoder", "pixels:8:2")
    ac = json.loads((run / "add_classes.json").read_text())
    assert ac["new_classes"] == [5, 6, 7, 8, 9] and ac["new_accuracy_after"] > 0.7
    assert "five, six, seven" in (run / "add_classes.md").read_text()


def test_nights_and_segment_by_name(run, data_root, nights_like):
    _eval(run, data_root, "nights", "--nights-dir", str(nights_like), "--encoder", "pixels:16")
    n = json.loads((run / "nights.json").read_text())["results"]["pixels-16"]
    # left is the reference itself: the model always picks left; humans: 4 left, 1 right, 1 tie
    assert n["n"] == 6 and n["human_ties"] == 1 and n["agreement"] == pytest.approx(4.5 / 6)
    _eval(run, data_root, "segment", "--dataset", "regions", "--num-classes", "3", "--void", "11",
          "--res", "24", "--encoder", "pixels:24:4", "--encoder", VIT,
          "--components", "3", "--components", "8", "-k", "5")
    seg = json.loads((run / "segment.json").read_text())["results"]
    assert seg["pixels-24"]["regions"]["r2_pca3"]["r2"] > 0.8
    assert seg["pixels-24"]["regions"]["knn"]["miou"] > 0.7
    assert seg["random-vit_tiny_patch16_224-32-0"]["regions"]["grid"] == [2, 2]
    md = (run / "segment.md").read_text()
    assert "## Segmentation (regions)" in md and "camvid" not in md.lower()
    assert "| regions | 8 | 3 | 11 |" in md and "x".join(["24", "24"]) in md


def test_report_reads_top_down(run):
    (run / "pictures" / "stray.png").write_bytes(b"\x89PNG")  # an unclaimed picture still shows
    assert main(["eval", "report", str(run)]) == 0
    page = (run / "report.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"#]+)"', page)
    assert refs and all((run / r).is_file() for r in refs)
    assert "http" not in "".join(refs) and "<script" not in page
    pngs = {p.relative_to(run).as_posix() for p in (run / "pictures").glob("*.png")}
    assert pngs == set(refs)
    order = [page.index(s) for s in ('id="summary"', "<h2>Contents", 'id="used"', 'id="knn"',
                                     'id="pictures"')]
    assert order == sorted(order)                      # summary, contents, used, tables, pictures
    assert page.index("<table>") > page.index('id="summary"')
    # the user's encoder first, baselines after, in the summary and among the pictures
    summary = page[page.index('id="summary"'):page.index("<h2>Contents")]
    assert summary.index("procmem-mine") < summary.index("random-vit") < summary.index("pixels-8")
    pics = page[page.index('id="pictures"'):]
    assert pics.index("knn-procmem-mine") < pics.index("knn-random-vit") < pics.index("knn-pixels-8")
    assert "20 per class" in page and "zero, one, two" in page     # what the run used
    for section in ("kNN classification", "Linear probe", "NIGHTS", "Segmentation", "Privacy",
                    "scaling", "Unlearning", "Adding classes"):
        assert section in page


def test_errors_are_messages_not_tracebacks(tmp_path, data_root, capsys):
    base = ["--out", str(tmp_path), "--data-root", str(data_root)]
    assert main(["eval", "knn", "--dataset", "nope", *base]) == 2
    err = capsys.readouterr().err
    assert "no data set 'nope'" in err and "digits, faces, regions" in err
    assert main(["eval", "segment", "--dataset", "regions", "--num-classes", "3", *base]) == 2
    err = capsys.readouterr().err  # label 11 is neither a class nor void (default 255)
    assert "label 11 outside 0..2" in err and "--num-classes" in err and "--void" in err
    assert main(["eval", "knn", "--dataset", "regions", *base]) == 2
    assert "procmem eval segment --dataset regions" in capsys.readouterr().err
    assert main(["eval", "report", str(tmp_path / "absent")]) == 2
    assert main(["eval", "compartment", "--out", str(tmp_path)]) == 2
    assert main(["eval", "knn", "--encoder", "bogus", *base]) == 2


def test_orderings_read_the_same_stored_results_and_intervals(run):
    from procmem.eval.comparisons import fmt_cell
    from procmem.eval.orderings_tables import intervals_of, metrics_of

    values, cells = metrics_of(run), intervals_of(run)
    c = cells["pixels-8"]["knn-softmax/digits"]
    assert c["value"] == pytest.approx(values["pixels-8"]["knn-softmax/digits"])
    softmax = (run / "knn.md").read_text().split("**softmax voting**")[1]
    assert f"| pixels-8 (raw pixels) | {fmt_cell(c)};" in softmax  # the kNN table's own cell
    assert set(cells["pixels-24"]) == {"regions/r2-pca3", "regions/in-context-miou",
                                      "regions/knn-miou"}
    assert cells["pixels-16"]["nights/2afc"]["n"] == 6
