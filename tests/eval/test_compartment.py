"""Compartmentalisation audit on real shards made by generators.jobs from real programs."""

import json
import shutil

import numpy as np
import pytest

from procmem.eval.compartment import CompartmentError, audit_export, audit_shards


@pytest.fixture(scope="module")
def shard_set(request, tmp_path_factory):
    # torchvision (imported by pretrain.data) segfaults when first imported after Mesa's EGL
    # context exists in the process, so import it before the shared renderer is made
    pytest.importorskip("procmem.pretrain.data")
    renderer = request.getfixturevalue("renderer")
    from procmem.generators.jobs import GenerateConfig, run

    out = tmp_path_factory.mktemp("shards") / "set"
    cfg = GenerateConfig(process="shaders", res=64, num_images=6, shard_size=3,
                         frames_per_program=2)
    run(cfg, out, renderer=renderer, progress=False)
    return out


def _export(tmp_path, shard_dir):
    from procmem.pretrain.data import data_provenance

    prov = data_provenance(str(shard_dir), {})
    meta = {"arch": "vit_tiny_patch16_224", "learned_from": prov,
            "shard_manifest_sha256": prov["manifest_sha256"]}
    p = tmp_path / "enc.json"
    p.write_text(json.dumps(meta))
    return p


def test_generated_shards_pass(shard_set, tmp_path, renderer):
    r = audit_export(_export(tmp_path, shard_set), progress=False, rebuild=3, renderer=renderer)
    assert r["verdict"] == "pass", r["first_violations"]
    assert r["shards"] == 2 and r["samples"] == 6 and r["violations"] == 0
    assert r["rebuilt"]["checked"] == r["rebuilt"]["exact"] == 3  # re-rendered, pixel-identical
    assert r["programs"] >= 1 and r["programs"] == r["library_programs"] + r["generated_programs"]


def test_real_image_or_path_in_a_sample_fails(shard_set, tmp_path):
    from procmem.generators import shards as sh
    from procmem.generators.jobs import config_from_json

    bad = tmp_path / "bad"
    shutil.copytree(shard_set, bad)
    export = _export(tmp_path, shard_set)  # the export names the clean manifest
    img = sh.encode_image(np.zeros((64, 64, 3), np.uint8))
    samples = [("000002000000", {"png": img, "json": sh.encode_json(
                   {"process": "shaders", "resolution": 64,
                    "sources": [{"program": "lib/none/nothing", "time": 0, "params": []}]})}),
               ("000002000001", {"png": img, "json": sh.encode_json(
                   {"process": "shaders", "resolution": 64, "note": "/data/photos/cat.jpg",
                    "sources": [{"program": "gen/1/5", "time": 0, "params": []}]})}),
               ("000002000002", {"png": img, "json": sh.encode_json(
                   {"process": "shaders", "resolution": 32,
                    "sources": [{"program": "gen/1/5"}]})})]
    entry = sh.write_shard(bad / sh.shard_name("shaders", 2), samples)
    entry["index"] = 2
    manifest = json.loads((bad / "manifest.json").read_text())
    sh.record_shard(bad, manifest["config"], entry)
    assert config_from_json(manifest["config"]).process == "shaders"
    r = audit_shards(bad, progress=False)
    assert r["verdict"] == "fail" and r["violations"] == 3, r["first_violations"]
    assert r["rebuilt"]["checked"] == 0
    text = "\n".join(r["first_violations"])
    assert "lib/none/nothing" in text and "cat.jpg" in text and "resolution 32" in text
    # the export's manifest hash no longer matches the tampered set
    r = audit_export(export, shard_dir=bad, progress=False)
    assert r["verdict"] == "fail" and "not the shards" in r["first_violations"][0]


def test_image_that_its_programs_do_not_make_fails(shard_set, tmp_path, renderer):
    from procmem.generators import shards as sh

    bad = tmp_path / "swapped"
    shutil.copytree(shard_set, bad)
    (key, members), = list(sh.read_shard(bad / "shaders-000000.tar"))[:1]
    # a well-formed sample whose JSON is a real program's, but whose pixels are not its output
    img = sh.encode_image(np.full((64, 64, 3), 77, np.uint8))
    # and one whose program text no longer matches the hash it recorded: unprovable, not wrong
    meta = json.loads(members["json"])
    meta["sources"][0]["source_sha256"] = "0" * 16
    entry = sh.write_shard(bad / sh.shard_name("shaders", 2),
                           [("000002000000", {"png": img, "json": members["json"]}),
                            ("000002000001", {"png": members["png"], "json": sh.encode_json(meta)})])
    entry["index"] = 2
    sh.record_shard(bad, json.loads((bad / "manifest.json").read_text())["config"], entry)
    r = audit_shards(bad, progress=False, rebuild=8, renderer=renderer)
    assert r["verdict"] == "fail" and r["violations"] == 1
    assert (r["rebuilt"]["checked"], r["rebuilt"]["exact"], r["rebuilt"]["program_changed"]) == (8, 6, 1)
    assert "differs from the stored image" in r["first_violations"][0]


def test_unlisted_or_changed_tar_fails(shard_set, tmp_path):
    bad = tmp_path / "bad2"
    shutil.copytree(shard_set, bad)
    shutil.copy(bad / "shaders-000000.tar", bad / "extra-000009.tar")
    with open(bad / "shaders-000001.tar", "r+b") as f:
        f.seek(600)
        f.write(b"\x00\x01")
    r = audit_shards(bad, progress=False)
    text = "\n".join(r["first_violations"])
    assert r["verdict"] == "fail" and "extra-000009.tar" in text and "sha256" in text


def test_stream_export_and_bad_inputs(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"learned_from": {"kind": "stream", "process": "shaders"},
                             "shard_manifest_sha256": None}))
    assert audit_export(p)["verdict"] == "unverifiable"
    with pytest.raises(CompartmentError, match="does not exist"):
        audit_export(tmp_path / "missing.json")
    (tmp_path / "old.json").write_text("{}")
    with pytest.raises(CompartmentError, match="no shard manifest"):
        audit_export(tmp_path / "old.json")
    with pytest.raises(CompartmentError, match="not a shard set"):
        audit_shards(tmp_path)


def test_a_converted_foreign_encoder_is_unverifiable_not_an_error(tmp_path, capsys):
    import timm
    import torch
    from safetensors.torch import save_file

    from procmem.cli import main
    from procmem.encoder.convert import convert_encoder

    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False, num_classes=0)
    save_file(model.state_dict(), tmp_path / "theirs.safetensors")
    _, meta_path = convert_encoder(f"timm:resnet18:{tmp_path / 'theirs.safetensors'}:32",
                                   tmp_path / "conv")
    r = audit_export(meta_path, progress=False)
    assert r["verdict"] == "unverifiable" and r["provenance"]["kind"] == "foreign"
    assert r["reason"].startswith("unverifiable: data not made by procmem")
    assert "theirs.safetensors" in r["reason"]
    assert main(["eval", "compartment", str(meta_path), "--out", str(tmp_path / "audit"),
                 "--quiet"]) == 1
    assert "unverifiable: data not made by procmem" in capsys.readouterr().out


@pytest.fixture(scope="module")
def user_set(request, tmp_path_factory, user_glsl):
    """A shard set of the user's own programs mixed with the library."""
    pytest.importorskip("procmem.pretrain.data")  # before the renderer (see shard_set)
    renderer = request.getfixturevalue("renderer")
    from procmem.generators.frames import choose_programs
    from procmem.generators.jobs import GenerateConfig, run

    programs, user_programs = choose_programs([str(user_glsl), "library"])
    out = tmp_path_factory.mktemp("user-shards") / "set"
    cfg = GenerateConfig(process="shaders-mixup", res=32, num_images=12, shard_size=6,
                         programs=programs, user_programs=user_programs, frames_per_program=1,
                         seed=2)
    run(cfg, out, renderer=renderer, progress=False)
    return out


def test_user_program_shards_pass(user_set, tmp_path, renderer):
    r = audit_export(_export(tmp_path, user_set), progress=False, rebuild=4, renderer=renderer)
    assert r["verdict"] == "pass", r["first_violations"]
    assert r["user_programs"] == 2 and r["library_programs"] >= 1
    assert r["programs"] == r["library_programs"] + r["user_programs"]
    assert r["rebuilt"]["checked"] == r["rebuilt"]["exact"] == 4  # from the manifest's texts


def _tampered(user_set, tmp_path, name, change):
    """A copy of the user set whose manifest record of user/waves `change` edited in place."""
    bad = tmp_path / name
    shutil.copytree(user_set, bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    change(manifest["config"]["user_programs"][1])  # user/waves
    (bad / "manifest.json").write_text(json.dumps(manifest))
    return bad


def test_an_altered_user_program_text_fails(user_set, tmp_path, renderer):
    def edit(rec):
        rec["source"] = rec["source"].replace("40.0", "41.0")

    r = audit_shards(_tampered(user_set, tmp_path, "altered", edit), progress=False, rebuild=6,
                     renderer=renderer)
    assert r["verdict"] == "fail"
    first = r["first_violations"][0]
    assert first.startswith("manifest user program record 1: the stored text of user/waves")
    assert "the text was altered" in first
    # its samples no longer resolve, so none of them counts as made by a known program
    assert any("'user/waves' does not resolve" in v for v in r["first_violations"])

    def edit_and_rehash(rec):  # the text and its sha256 both replaced: the samples disagree
        from procmem.core.hashing import sha256_bytes

        edit(rec)
        rec["sha256"] = sha256_bytes(rec["source"].encode())

    r = audit_shards(_tampered(user_set, tmp_path, "rehashed", edit_and_rehash), progress=False,
                     rebuild=6, renderer=renderer)
    text = "\n".join(r["first_violations"])
    assert r["verdict"] == "fail" and "the manifest's text of user/waves hashes to" in text
