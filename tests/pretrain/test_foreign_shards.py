"""Your own WebDataset shards as `pretrain --data`: a folder of tars, a brace pattern or a list
file, local files only; the run and its export say the data was not made by procmem, and the
compartment audit says it cannot verify them instead of passing."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from procmem.cli import main
from procmem.pretrain.data import DataError, data_provenance, shard_urls
from tests.pretrain.tinydata import TINY_OVERRIDES, synthetic_image


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_foreign_shards(folder, shards: int = 3, per_shard: int = 6, image: bool = True) -> list:
    """Tars as another project writes them (python's tarfile, no procmem manifest): JPEG images
    named `<key>.jpg` or `<key>.image.jpg`, and a json with a caption on every other sample."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    paths = []
    for s in range(shards):
        path = folder / f"shard-{s:06d}.tar"
        with tarfile.open(path, "w") as tar:
            for i in range(per_shard):
                key = f"sample{s:03d}{i:03d}"
                buf = io.BytesIO()
                Image.fromarray(synthetic_image(rng)).save(buf, format="JPEG")
                if image:
                    _member(tar, f"{key}.{'jpg' if i % 3 else 'image.jpg'}", buf.getvalue())
                if i % 2 or not image:
                    _member(tar, f"{key}.json", json.dumps({"caption": f"photo {i}"}).encode())
        paths.append(path)
    return paths


def _sha256sum_listing(paths) -> str:
    """What `sha256sum shard-*.tar | sha256sum` computes, by hand."""
    text = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in paths)
    return hashlib.sha256(text.encode()).hexdigest()


def test_folder_brace_pattern_and_list_file_name_the_same_local_tars(tmp_path, monkeypatch):
    paths = write_foreign_shards(tmp_path / "mydata")
    want = [str(p.resolve()) for p in paths]
    monkeypatch.chdir(tmp_path)
    assert shard_urls("mydata") == want
    assert shard_urls("mydata/shard-{000000..000002}.tar") == want
    assert shard_urls("mydata/shard-000001.tar") == want[1:2]
    listing = tmp_path / "lists" / "train.txt"
    listing.parent.mkdir()
    listing.write_text("# my shards, relative to this file\n../mydata/shard-000000.tar\n\n"
                       f"{paths[1].resolve()}\n../mydata/shard-{{000002..000002}}.tar\n")
    assert shard_urls(str(listing)) == want
    prov = data_provenance(str(listing), {})
    assert prov == {"kind": "foreign-shards", "made_by_procmem": False, "files": want,
                    "bytes": sum(p.stat().st_size for p in paths), "sha256": _sha256sum_listing(paths)}
    # the same bytes under another order are another data set; changed bytes likewise
    assert data_provenance("mydata/shard-{000002,000001,000000}.tar", {})["sha256"] != prov["sha256"]
    with open(paths[0], "ab") as f:
        f.write(b"\0" * 1024)
    assert data_provenance("mydata", {})["sha256"] != prov["sha256"]


@pytest.mark.parametrize("spec", ["pipe:curl -s http://host/shard-000000.tar", "http://host/s.tar",
                                  "s3://bucket/shard-{000000..000009}.tar", "file:///data/s.tar"])
def test_urls_and_commands_are_refused_before_anything_opens(spec, tmp_path):
    with pytest.raises(DataError, match="local files only"):
        shard_urls(spec)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{tmp_path}/a.tar\n# then\n{spec}\n")
    with pytest.raises(DataError, match=r"list.txt, line 3: .* local files only"):
        shard_urls(str(listing))


def test_missing_or_empty_data_is_explained(tmp_path):
    write_foreign_shards(tmp_path / "d", shards=1)
    with pytest.raises(DataError, match=r"2 of the 3 shards do not exist .*shard-000001.tar"):
        shard_urls(f"{tmp_path}/d/shard-{{000000..000002}}.tar")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither manifest.json .* nor .tar files"):
        shard_urls(tmp_path / "empty")
    (tmp_path / "blank.txt").write_text("# nothing\n\n")
    with pytest.raises(DataError, match="names no tar"):
        shard_urls(tmp_path / "blank.txt")


def test_pretrain_on_your_shards_records_them_and_the_audit_cannot_pass(tmp_path, capsys):
    from procmem.eval.compartment import audit_export

    paths = write_foreign_shards(tmp_path / "mydata")
    pattern = f"{tmp_path}/mydata/shard-{{000000..000002}}.tar"
    run, enc = tmp_path / "run", tmp_path / "enc"
    assert main(["pretrain", "--data", pattern, "--out", str(run), "--quiet", *TINY_OVERRIDES,
                 "schedule.max_steps=2"]) == 0
    assert "step 2, final loss" in capsys.readouterr().out
    prov = json.loads((run / "run.json").read_text())["provenance"]
    assert prov["kind"] == "foreign-shards" and prov["files"] == [str(p) for p in paths]
    assert prov["sha256"] == _sha256sum_listing(paths)
    # a rerun with the same shards named another way (their folder) resumes: same provenance
    assert main(["pretrain", "--data", str(tmp_path / "mydata"), "--out", str(run), "--quiet",
                 *TINY_OVERRIDES, "schedule.max_steps=3"]) == 0
    assert "step 3" in capsys.readouterr().out
    assert main(["pretrain", "export", str(run), "--out", str(enc)]) == 0
    meta = json.loads(enc.with_suffix(".json").read_text())
    assert meta["learned_from"] == {**prov, "files": [p.name for p in paths]}  # no local path
    assert str(tmp_path) not in json.dumps(meta["learned_from"]) and meta["shard_manifest_sha256"] is None
    r = audit_export(enc.with_suffix(".json"), progress=False)
    assert r["verdict"] == "unverifiable"
    assert r["reason"].startswith("unverifiable: data not made by procmem") and "3 WebDataset" in r["reason"]
    capsys.readouterr()
    assert main(["eval", "compartment", str(enc.with_suffix(".json")), "--out", str(tmp_path / "audit"),
                 "--quiet"]) == 1
    assert "unverifiable: data not made by procmem" in capsys.readouterr().out


def test_shards_without_images_stop_the_run_naming_what_a_sample_needs(tmp_path):
    from procmem.pretrain.config import load_config
    from procmem.pretrain.train import pretrain

    write_foreign_shards(tmp_path / "captions", shards=1, image=False)
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=2", "data.max_bad_samples=4"])
    with pytest.warns(UserWarning, match="skipping unreadable"):
        with pytest.raises(DataError, match=r"4 samples in a row .*one image \(png, jpg, jpeg, webp\)"):
            pretrain(cfg, str(tmp_path / "captions"), tmp_path / "run", progress=False)
