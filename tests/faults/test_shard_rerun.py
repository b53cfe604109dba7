"""A rerun of `procmem generate` trusts no shard it has not re-hashed and leaves no temporary
(issue 12, items 2 and 8)."""

from __future__ import annotations

import re

import pytest

from procmem.cli import main
from procmem.generators import shards as sh

ARGS = ["generate", "--process", "kml", "--res", "32", "--images", "8", "--shard-size", "4",
        "--programs", "library", "--frames-per-program", "4", "--seed", "2", "--quiet"]


def files(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.name != sh.LOCK}


@pytest.fixture
def shard_set(tmp_path, capsys):
    out = tmp_path / "shards"
    assert main([*ARGS, "--out", str(out)]) == 0
    capsys.readouterr()
    return out


def test_a_corrupted_complete_shard_is_remade_byte_identical(shard_set, capsys, caplog):
    before = files(shard_set)
    path = shard_set / "kml-000001.tar"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: a size check alone would skip it
    path.write_bytes(bytes(data))
    assert main([*ARGS, "--out", str(shard_set)]) == 0
    out = capsys.readouterr().out
    assert "made 1 shards" in out and "skipped 1 complete shards" in out
    assert "remade 1 listed shards that no longer matched the manifest: kml-000001.tar: sha256" \
        in out
    assert any("remaking kml-000001.tar: sha256" in r.getMessage() for r in caplog.records)
    assert files(shard_set) == before


def test_a_missing_or_replaced_shard_is_remade_too(shard_set, capsys):
    before = files(shard_set)
    (shard_set / "kml-000000.tar").unlink()
    (shard_set / "kml-000001.tar").write_bytes(b"not a tar")
    assert main([*ARGS, "--out", str(shard_set)]) == 0
    out = capsys.readouterr().out
    assert "kml-000000.tar: missing" in out and "kml-000001.tar: sha256" in out
    assert files(shard_set) == before


def test_a_rerun_sweeps_the_temporaries_of_killed_writers_of_its_shards(shard_set, capsys):
    before = files(shard_set)
    (shard_set / "kml-000001.tar").unlink()
    stale = [shard_set / ".kml-000001.tar.k1ll3d.tmp", shard_set / ".manifest.json.x9.tmp"]
    for s in stale:
        s.write_bytes(b"half written by a killed writer")
    # a temporary of a shard outside the range may belong to a live writer: it stays
    other = shard_set / ".kml-000000.tar.live.tmp"
    other.write_bytes(b"being written by another process")
    assert main([*ARGS, "--out", str(shard_set), "--shards", "1"]) == 0
    assert "removed 1 temporaries left by killed writers" in capsys.readouterr().out
    assert not any(s.exists() for s in stale) and other.exists()
    other.unlink()
    assert files(shard_set) == before


def test_a_failed_shard_write_leaves_no_temporary(tmp_path):
    target = tmp_path / "kml-000000.tar"
    with pytest.raises(TypeError):
        sh.write_shard(target, [("000000000000", {"png": 12345})])  # not bytes: fails mid-tar
    assert list(tmp_path.iterdir()) == []


def test_bad_places_are_clear_errors_that_lose_nothing(shard_set, tmp_path, capsys):
    before = files(shard_set)
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    cases = [
        (a_file, "cannot use .*a-file as a shard directory \\(it is a file\\)"),
        (a_file / "sub", "cannot use .*a-file/sub as a shard directory \\(Not a directory\\)"),
    ]
    for out, msg in cases:
        assert main([*ARGS, "--out", str(out)]) == 2
        assert re.search(msg, capsys.readouterr().err)
    assert a_file.read_text() == "keep me"
    (shard_set / "kml-000001.tar").unlink()
    (shard_set / "kml-000001.tar").mkdir()
    assert main([*ARGS, "--out", str(shard_set)]) == 2
    assert "kml-000001.tar is a directory where shard 1 belongs: move it away" in \
        capsys.readouterr().err
    (shard_set / "kml-000001.tar").rmdir()
    manifest = (shard_set / sh.MANIFEST).read_bytes()
    (shard_set / sh.MANIFEST).write_bytes(b"\xff\xfe not json")
    assert main([*ARGS, "--out", str(shard_set)]) == 2
    assert "manifest.json is not valid JSON" in capsys.readouterr().err
    (shard_set / sh.MANIFEST).write_bytes(manifest)
    assert main([*ARGS, "--out", str(shard_set)]) == 0  # and the set is whole again
    assert files(shard_set) == before
