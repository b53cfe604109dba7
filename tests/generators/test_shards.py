"""Tar writing/reading, the manifest under concurrent writers, and `verify`."""

from __future__ import annotations

import io
import json
import tarfile
import threading

import numpy as np
import pytest

from procmem.cli import main
from procmem.generators import shards as sh

CONFIG = {"process": "kml", "res": 8}


def samples(n=3, shard=0, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for j in range(n):
        key = sh.sample_key(shard, j)
        img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        out.append((key, {"png": sh.encode_image(img), "json": sh.encode_json({"key": key})}))
    return out


def make_set(tmp_path, n_shards=2):
    sh.open_manifest(tmp_path, CONFIG)
    for i in range(n_shards):
        entry = sh.write_shard(tmp_path / sh.shard_name("kml", i), samples(3, i, i))
        sh.record_shard(tmp_path, CONFIG, dict(entry, index=i))
    return tmp_path


def test_tar_bytes_are_deterministic_with_fixed_metadata(tmp_path):
    a = sh.write_shard(tmp_path / "a.tar", samples())
    b = sh.write_shard(tmp_path / "b.tar", samples())
    assert a["sha256"] == b["sha256"] and a["count"] == 3
    with tarfile.open(tmp_path / "a.tar") as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos] == ["000000000000.png", "000000000000.json",
                                       "000000000001.png", "000000000001.json",
                                       "000000000002.png", "000000000002.json"]
    assert {(i.mtime, i.uid, i.gid, i.uname, i.mode) for i in infos} == {(0, 0, 0, "", 0o644)}
    assert not list(tmp_path.glob(".*.tmp"))


def test_read_shard_groups_members_by_key(tmp_path):
    sh.write_shard(tmp_path / "a.tar", samples(2))
    got = list(sh.read_shard(tmp_path / "a.tar"))
    assert [k for k, _ in got] == ["000000000000", "000000000001"]
    assert set(got[0][1]) == {"png", "json"}
    assert json.loads(got[1][1]["json"]) == {"key": "000000000001"}


def test_webdataset_reads_the_tars(tmp_path):
    import webdataset as wds

    sh.write_shard(tmp_path / "a.tar", samples(3))
    ds = wds.WebDataset(str(tmp_path / "a.tar"), shardshuffle=False).decode("rgb8")
    got = list(ds)
    assert len(got) == 3 and got[0]["png"].shape == (8, 8, 3) and got[0]["json"]["key"]


def test_concurrent_writers_merge_into_one_manifest(tmp_path):
    sh.open_manifest(tmp_path, CONFIG)

    def writer(i):
        entry = sh.write_shard(tmp_path / sh.shard_name("kml", i), samples(1, i, i))
        sh.record_shard(tmp_path, CONFIG, dict(entry, index=i))

    threads = [threading.Thread(target=writer, args=(i,)) for i in reversed(range(12))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m = sh.read_manifest(tmp_path)
    assert [s["index"] for s in m["shards"]] == list(range(12))
    assert sh.verify(tmp_path) == ([], 12)


def test_a_different_config_is_refused(tmp_path):
    make_set(tmp_path, 1)
    with pytest.raises(sh.ShardError, match="different config.*res: 8 there, 16 here"):
        sh.open_manifest(tmp_path, dict(CONFIG, res=16))


def test_verify_passes_a_good_set_and_the_cli_exits_0(tmp_path, capsys):
    make_set(tmp_path)
    assert sh.verify(tmp_path) == ([], 6)
    assert main(["shards", "verify", str(tmp_path)]) == 0
    assert "6 samples checked, 0 problems" in capsys.readouterr().out


def test_verify_names_a_shard_with_flipped_bytes(tmp_path, capsys):
    make_set(tmp_path)
    path = tmp_path / sh.shard_name("kml", 1)
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 8  # inside the first image's compressed pixels
    data[start : start + 16] = bytes(b ^ 0xFF for b in data[start : start + 16])
    path.write_bytes(bytes(data))
    problems, _ = sh.verify(tmp_path)
    assert any("kml-000001.tar: sha256" in p for p in problems)
    assert any("kml-000001.tar sample 000001000000: bad png" in p for p in problems)
    assert not any("kml-000000" in p for p in problems)
    assert main(["shards", "verify", str(tmp_path)]) == 1
    assert "problem: kml-000001.tar" in capsys.readouterr().out


def test_verify_names_a_truncated_shard(tmp_path):
    make_set(tmp_path)
    path = tmp_path / sh.shard_name("kml", 0)
    path.write_bytes(path.read_bytes()[:700])
    problems, _ = sh.verify(tmp_path)
    assert any(p.startswith("kml-000000.tar: unreadable tar") or
               p.startswith("kml-000000.tar: 0 samples") or "kml-000000.tar sample" in p
               for p in problems), problems
    assert any("kml-000000.tar: sha256" in p for p in problems)


def test_verify_names_a_missing_json_and_a_stray_tar(tmp_path):
    sh.open_manifest(tmp_path, CONFIG)
    broken = [(k, {"png": m["png"]}) for k, m in samples(2)]
    entry = sh.write_shard(tmp_path / sh.shard_name("kml", 0), broken)
    sh.record_shard(tmp_path, CONFIG, dict(entry, index=0))
    sh.write_shard(tmp_path / "stray.tar", samples(1))
    problems, _ = sh.verify(tmp_path)
    assert "kml-000000.tar sample 000000000001: missing json" in problems
    assert any(p.startswith("stray.tar: tar not in the manifest") for p in problems)


def test_verify_of_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(sh.ShardError, match="no manifest.json"):
        sh.verify(tmp_path)
    assert main(["shards", "verify", str(tmp_path)]) == 2


def test_jpeg_encoding_is_deterministic():
    img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    a, b = sh.encode_image(img, "jpg", 90), sh.encode_image(img, "jpg", 90)
    assert a == b and a[:2] == b"\xff\xd8"
    from PIL import Image

    assert np.asarray(Image.open(io.BytesIO(sh.encode_image(img)))).tolist() == img.tolist()


@pytest.mark.parametrize("shape", [(1, 5, 3), (7, 3, 3), (32, 48, 3)])
def test_png_writer_round_trips_through_pillow(shape):
    from PIL import Image

    img = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    img[:, :1] = 255  # wrap-around differences
    with Image.open(io.BytesIO(sh.encode_png(img))) as im:
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), img)


def test_a_stale_temporary_manifest_is_removed(tmp_path):
    make_set(tmp_path, 1)
    stale = tmp_path / ".manifest.json.abc123.tmp"
    stale.write_text("{partial")
    sh.open_manifest(tmp_path, CONFIG)
    assert not stale.exists() and sh.verify(tmp_path) == ([], 3)
