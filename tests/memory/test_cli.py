"""`procmem memory ...` round trip on npz embeddings (scikit-learn's digits as vectors)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from procmem.cli import main
from tests.memory.conftest import colour_folder


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data.astype(np.float32) + 0.5
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = d.target.astype(np.int64)
    names = np.array([f"digit{i}" for i in range(10)])
    root = tmp_path_factory.mktemp("npz")
    rng = np.random.default_rng(0)
    test = rng.random(len(y)) < 0.2
    old = y < 8

    from PIL import Image

    (root / "digits").mkdir()
    for i, img in enumerate(d.images):
        Image.fromarray((img * 15).astype(np.uint8)).save(root / "digits" / f"{i}.png")

    def save(name, mask, fp="pixels:8"):
        np.savez(root / name, features=x[mask], labels=y[mask],
                 paths=np.array([str(root / "digits" / f"{i}.png") for i in np.flatnonzero(mask)]),
                 label_names=names, fingerprint=np.asarray(fp))
        return str(root / name)

    return {"train_old": save("train_old.npz", ~test & old), "train_new": save("train_new.npz", ~test & ~old),
            "test": save("test.npz", test), "wrong_fp": save("wrong.npz", test, "other-encoder")}


def run(capsys, *argv):
    code = main(["memory", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_round_trip(tmp_path, capsys, digits_npz):
    mem = str(tmp_path / "mem")
    code, out, _ = run(capsys, "build", mem, "--embeddings", digits_npz["train_old"])
    assert code == 0 and "built" in out
    code, out, _ = run(capsys, "build", mem, "--embeddings", digits_npz["train_old"])
    assert code == 0 and "resuming" in out  # a rerun resumes (here: nothing left to add)
    # New classes (digits 8 and 9) are added by name, no training.
    code, out, _ = run(capsys, "add", mem, "--embeddings", digits_npz["train_new"])
    assert code == 0 and "digit8" in out and "digit9" in out
    code, out, _ = run(capsys, "info", mem)
    assert "fingerprint  pixels:8" in out and "8:digit8" in out
    rep = tmp_path / "decisions"
    png = tmp_path / "sweep.png"
    code, out, _ = run(capsys, "classify", mem, "--embeddings", digits_npz["test"], "-k", "5",
                       "--sweep", "1,5,20", "--out", str(rep), "--plot", str(png), "--explain", "1")
    assert code == 0 and "calibration" in out and png.stat().st_size > 1000
    report = json.loads((rep / "decisions.json").read_text())
    assert report["accuracy"]["1"] > 0.9
    assert set(report["sweep"]) == {"plurality", "distance", "softmax", "rank"}
    assert len(report["explained"][0]["neighbours"]) == 5
    assert report["predictions"][:3] == [f"digit{p}" for p in report["prediction_labels"][:3]]
    assert (rep / "predictions.csv").read_text().startswith("path,true_class,class,confidence")
    old = tmp_path / "old.json"  # the old --out FILE.json still writes the file, with a note
    code, _, err = run(capsys, "classify", mem, "--embeddings", digits_npz["test"], "--out", str(old))
    assert code == 0 and "--out FILE.json is deprecated" in err
    assert json.loads(old.read_text()) == json.loads((tmp_path / "old" / "decisions.json").read_text())
    grid = tmp_path / "grid.png"
    code, out, _ = run(capsys, "query", mem, "--embeddings", digits_npz["test"], "-k", "3",
                       "--limit", "2", "--grid", str(grid))
    assert code == 0 and "digit" in out and grid.stat().st_size > 1000
    code, out, _ = run(capsys, "remove", mem, "--label-name", "digit9")
    assert code == 0 and out.count("PASS") == 3 and "receipt:" in out
    assert f"not covered (copies outside the memory): {digits_npz['train_new']}" in out
    code, out, _ = run(capsys, "remove", mem, "--ids", "0,1,2")
    assert code == 0
    code, out, _ = run(capsys, "prune", mem, "-k", "5", "--threshold", "100")
    assert code == 0 and "no item has v >= 100: nothing removed" in out
    code, out, _ = run(capsys, "prune", mem, "-k", "5", "--threshold", "1")
    assert code == 0 and "PASS not_in_pruning_stats" in out
    code, out, _ = run(capsys, "classify", mem, "--embeddings", digits_npz["test"], "--pruning", "soft")
    assert code == 0
    code, out, _ = run(capsys, "verify", mem)
    assert code == 0 and "OK" in out
    # Errors: a clear message and exit code 2, nothing changed.
    code, _, err = run(capsys, "classify", mem, "--embeddings", digits_npz["wrong_fp"])
    assert code == 2 and "other-encoder" in err and "pixels:8" in err
    code, _, err = run(capsys, "remove", mem, "--ids", "0")
    assert code == 2 and "not in the memory" in err
    code, _, err = run(capsys, "build", mem, "--embeddings", digits_npz["test"])
    assert code == 2 and "already holds" in err
    bad = tmp_path / "bad.npz"
    np.savez(bad, features=np.zeros((3, 4), np.float32))
    code, _, err = run(capsys, "add", mem, "--embeddings", str(bad))
    assert code == 2 and "labels" in err


def test_build_and_classify_from_images_with_an_encoder(tmp_path, capsys):
    """The images + encoder path: an ImageFolder embedded by a (random, tiny) ViT."""
    data = colour_folder(tmp_path / "folder")
    model = "random:vit_tiny_patch16_224:32:0"
    mem = str(tmp_path / "mem")
    assert main(["memory", "build", mem, "--model", model, "--data", str(data)]) == 0
    assert main(["memory", "info", mem]) == 0
    info = capsys.readouterr().out
    assert model in info and "12" in info
    assert main(["memory", "classify", mem, "--model", model, "--data", str(data), "-k", "3"]) == 0
    assert main(["memory", "verify", mem]) == 0
    # another encoder's vectors are refused by name
    assert main(["memory", "classify", mem, "--model", "random:vit_tiny_patch16_224:32:1",
                 "--data", str(data)]) == 2
    assert "random:vit_tiny_patch16_224:32:1" in capsys.readouterr().err


def test_bad_input_of_issue_12_item_8_gets_a_clear_error(tmp_path, capsys, digits_npz):
    """npz ids are honoured (the same file twice is refused, not duplicated); an npz naming no
    encoder is refused by a fingerprinted memory unless asked; a rewritten index cache with a
    matching sidecar no longer passes verify, and --repair rebuilds it."""
    mem = str(tmp_path / "mem")
    assert run(capsys, "build", mem, "--embeddings", digits_npz["train_old"])[0] == 0
    with np.load(digits_npz["test"]) as z:
        arrays = dict(z)
    ids_npz, bare_npz = tmp_path / "ids.npz", tmp_path / "bare.npz"
    np.savez(ids_npz, ids=np.arange(5000, 5000 + len(arrays["labels"])), **arrays)
    np.savez(bare_npz, **{k: v for k, v in arrays.items() if k != "fingerprint"})
    code, out, _ = run(capsys, "add", mem, "--embeddings", str(ids_npz))
    assert code == 0 and "ids 5000.." in out
    code, _, err = run(capsys, "add", mem, "--embeddings", str(ids_npz))
    assert code == 2 and "already in the memory: [5000" in err
    code, _, err = run(capsys, "add", mem, "--embeddings", str(bare_npz))
    assert code == 2 and "names no encoder fingerprint" in err and "--allow-unknown-encoder" in err
    assert run(capsys, "add", mem, "--embeddings", str(bare_npz), "--allow-unknown-encoder")[0] == 0
    # an IVF-PQ cache replaced by another index, its sidecar rewritten to match
    import hashlib

    ivf = str(tmp_path / "ivf")
    assert run(capsys, "build", ivf, "--embeddings", digits_npz["train_old"], "--index", "ivfpq",
               "--nlist", "4", "--m", "8", "--nbits", "4")[0] == 0
    from procmem.memory.store import VisualMemory

    with VisualMemory.open(ivf) as m:
        ids, x, _ = m.arrays()
        m.index.index.reset()
        m.index.add(ids, np.roll(x, 1, axis=0))  # every id now holds its neighbour's vector
        m._write_index_cache()
        want = m.index.to_bytes()
    side = tmp_path / "ivf" / "index.json"
    assert json.loads(side.read_text())["sha256"] == hashlib.sha256(want).hexdigest()
    code, out, _ = run(capsys, "verify", ivf)
    assert code == 1 and "codes of another vector" in out
    code, out, _ = run(capsys, "verify", ivf, "--repair")
    assert code == 0 and "repaired: rebuilt index.faiss" in out
