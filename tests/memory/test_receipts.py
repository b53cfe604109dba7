"""Receipts that vouch (issue 12, finding 4): exact selectors, no silent empty removal, dry
runs, checks re-run later, scans of copies outside the memory, forget by example."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from procmem.cli import main
from procmem.memory import receipts
from procmem.memory.recheck import verify_receipt
from procmem.memory.selection import EmptySelectionError, like_to_glob
from procmem.memory.store import VisualMemory
from procmem.memory.verify import verify
from tests.memory.conftest import colour_folder, unit

SOURCES = ["/photos/cat/1.png", "/PHOTOS/CAT/2.png", "/photos/dog/3.png", "/photos/cat/4.png"]


def _memory(path, n_extra: int = 40):
    rng = np.random.default_rng(0)
    x = unit(rng.normal(size=(len(SOURCES) + n_extra, 16)))
    m = VisualMemory.create(path, 16, "e")
    m.add(x, np.arange(len(x)) % 3, sources=SOURCES + [f"/other/{i}.png" for i in range(n_extra)],
          label_names={0: "cat", 1: "dog", 2: "bird"})
    return m, x


def test_an_empty_selection_is_an_error_naming_the_selector(tmp_path):
    m, _ = _memory(tmp_path / "m")
    for kwargs, named in ((dict(label=42), "label 42"),
                          (dict(source_glob="*/horse/*"), "source glob '*/horse/*'"),
                          (dict(source_prefix="/photos/CAT/"), "source prefix '/photos/CAT/'")):
        with pytest.raises(EmptySelectionError, match=f"matches {re.escape(named)}.*nothing was removed"):
            m.remove(**kwargs)
    assert m.version == 1 and not (tmp_path / "m" / "receipts").exists()
    r = m.remove(label=42, allow_empty=True)  # asked for: a receipt that says so
    assert r.passed and r.removed_ids == [] and list(r.checks) == ["selection_empty"]
    assert r.version_after == 2 and r.selector == {"label": 42}
    m.close()
    assert verify(tmp_path / "m")["ok"]


def test_source_matching_is_exact_and_case_sensitive(tmp_path):
    m, _ = _memory(tmp_path / "m")
    assert m.select(source_prefix="/PHOTOS/CAT/").ids.tolist() == [1]
    assert m.select(source_glob="*/cat/*").ids.tolist() == [0, 3]
    assert like_to_glob("%/PHOTOS/CAT/_.png") == "*/PHOTOS/CAT/?.png"
    assert like_to_glob("100%_[x]*?") == "100*?[[]x][*][?]"
    with pytest.warns(DeprecationWarning, match="source_glob"):
        r = m.remove(source_like="%/PHOTOS/CAT/%")  # LIKE ignored case; this does not
    assert r.removed_ids == [1] and r.selector == {"source_like": "%/PHOTOS/CAT/%",
                                                   "as_glob": "*/PHOTOS/CAT/*"}
    assert [it["source"] for it in r.items] == ["/PHOTOS/CAT/2.png"]
    m.close()


def test_a_receipt_records_what_was_asked_and_what_went_and_re_checks_later(tmp_path):
    m, x = _memory(tmp_path / "m")
    r = m.remove(label_name="cat")
    saved = json.loads(Path(r.path).read_text())
    assert saved["selector"] == {"label_name": "cat"} and saved["passed"]
    assert [(it["id"], it["label"], it["label_name"]) for it in saved["items"]][:2] == \
        [(0, 0, "cat"), (3, 0, "cat")]
    assert {"time", "completed", "version_before", "version_after", "not_covered"} <= set(saved)
    for check in saved["checks"].values():
        assert {"passed", "detail", "evidence", "seconds"} <= set(check)
    assert saved["checks"]["not_on_disk"]["evidence"]["scanned_by_pieces"] == len(r.removed_ids)
    m.add(unit(np.random.default_rng(9).normal(size=(5, 16))), [1] * 5)  # reuses freed records
    later = verify_receipt(receipts.load(r.path), m)
    assert all(c["passed"] for c in later.values()), later
    assert set(later) == {"edit_log", "not_searchable", "not_on_disk", "not_in_pruning_stats"}
    # a copy planted afterwards, at an odd offset, is found from the receipt alone
    (tmp_path / "m" / "planted.bin").write_bytes(b"abc" + x[0].tobytes() + b"z")
    again = verify_receipt(receipts.load(r.path), m)
    assert not again["not_on_disk"]["passed"] and again["not_on_disk"]["evidence"]["found"] == \
        {"planted.bin": [0]}
    m.close()
    (tmp_path / "m" / "planted.bin").unlink()
    # verify cross-checks the edit log against the receipts
    assert verify(tmp_path / "m")["ok"]
    Path(r.path).rename(tmp_path / "elsewhere.json")
    assert any("has no receipt" in p for p in verify(tmp_path / "m")["problems"])


@pytest.fixture
def cli_memory(tmp_path):
    """A memory of 12 tiny images embedded by the raw-pixel encoder, built by the CLI."""
    folder = colour_folder(tmp_path / "photos", size=16, noise=40.0)
    mem = str(tmp_path / "mem")
    assert main(["memory", "build", mem, "--model", "pixels:8", "--data", str(folder), "--quiet"]) == 0
    return mem, folder


def test_forget_by_example_with_a_dry_run_first(cli_memory, tmp_path, capsys):
    mem, folder = cli_memory
    capsys.readouterr()
    like = str(folder / "class0" / "0.png")
    args = ["memory", "remove", mem, "--like", like, "--model", "pixels:8", "--min-similarity", "0.999"]
    png = tmp_path / "dry.png"
    assert main([*args, "--dry-run", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "dry run: 1 of 12 items" in out and "class0/0.png  similarity 1.0000" in out
    assert png.stat().st_size > 500 and "picture:" in out
    with VisualMemory.open(mem) as m:
        assert len(m) == 12 and m.version == 1  # a dry run changes nothing
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "removed 1 items" in out and out.count("PASS") == 3
    r = receipts.load(next((Path(mem) / "receipts").glob("*.json")))
    import hashlib

    assert r.selector["like_images"][0]["sha256"] == hashlib.sha256(Path(like).read_bytes()).hexdigest()
    assert r.selector["min_similarity"] == 0.999 and r.items[0]["similarity"] > 0.999
    # another encoder's embedding of the example is refused by name
    assert main([*args[:-4], "--model", "pixels:4", "--min-similarity", "0.9"]) == 2
    assert "pixels:4" in capsys.readouterr().err


def test_receipt_verify_scan_and_bad_input_from_the_command_line(cli_memory, tmp_path, capsys):
    mem, folder = cli_memory
    feats = tmp_path / "feats.npz"
    assert main(["embed", "--model", "pixels:8", "--data", str(folder), "--out", str(feats)]) == 0
    assert main(["memory", "remove", mem, "--label", "7"]) == 2
    assert "matches label 7" in capsys.readouterr().err
    assert main(["memory", "remove", mem, "--ids", "@" + str(tmp_path / "nope.txt")]) == 2
    err = capsys.readouterr().err
    assert "no file" in err and "nope.txt" in err and "one id per line" in err
    (tmp_path / "ids.txt").write_text("0\n1\n")
    assert main(["memory", "remove", mem, "--ids", "@" + str(tmp_path / "ids.txt")]) == 0
    receipt = str(next((Path(mem) / "receipts").glob("*.json")))
    assert receipts.load(receipt).selector["ids_file_sha256"]
    capsys.readouterr()
    assert main(["memory", "receipt", "verify", receipt]) == 0
    assert "receipt holds" in capsys.readouterr().out
    # the embeddings file still holds the two vectors; so does a compressed float64 copy
    np.savez_compressed(tmp_path / "copy.npz", f=np.load(feats)["features"][:3].astype(np.float64))
    (tmp_path / "clean.bin").write_bytes(b"nothing here" * 100)
    assert main(["memory", "scan", "--receipt", receipt, str(tmp_path / "copy.npz"),
                 str(feats), str(tmp_path / "clean.bin")]) == 1
    out = capsys.readouterr().out
    assert "copy.npz: 2 copies: id 0 at array 'f' row 0 (as stored); id 1 at array 'f' row 1" in out
    assert "clean.bin: none of the removed vectors" in out and "feats.npz: " in out
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["memory", "remove", mem, "--source-like", "%/CLASS1/%", "--allow-empty"]) == 0
    assert "--source-like is deprecated" in capsys.readouterr().err


def test_scan_finds_raw_embeddings_the_store_normalised(tmp_path):
    from procmem.memory.scan import find_in_arrays, find_unit_vectors

    raw = np.random.default_rng(3).normal(size=(6, 16)) * 5.0  # not unit: normalised on add
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    r = m.remove(m.add(raw, [0] * 6)[:2])
    m.close()
    np.savez(tmp_path / "emb.npz", features=raw.astype(np.float32))
    assert find_in_arrays(tmp_path / "emb.npz", r.sha256, 16) == [
        ("features", 0, 0, "once normalised"), ("features", 1, 1, "once normalised")]
    assert find_unit_vectors([tmp_path / "emb.npz"], r.sha256, 16) == {}  # not those bytes
