"""`generate --programs`: user programs alone or mixed by weight, recorded in the shard set,
rebuilt by `shards explain`; sets made without them keep their config and draws."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from procmem.cli import main
from procmem.cli.generate import parse_weights
from procmem.generators import frames as fr
from procmem.generators import jobs, provenance
from procmem.generators import shards as sh
from procmem.shaders import registry, user

KINDS = {"lib": "library", "gen": "generated", "user": "user"}


def kinds(directory) -> Counter:
    """How many sources of each kind (library, generated, user) a shard set's samples name."""
    return Counter(KINDS[s["program"].split("/")[0]]
                   for _, meta in sh.iter_images(directory) for s in meta["sources"])


def test_generate_user_programs_alone(user_glsl, tmp_path, capsys):
    out = tmp_path / "mine"
    args = ["generate", "--process", "shaders", "--programs", str(user_glsl), "--images", "6",
            "--res", "32", "--shard-size", "3", "--out", str(out), "--quiet"]
    assert main(args) == 0  # rendered under the watchdog (the default)
    m = sh.read_manifest(out)
    records = m["config"]["user_programs"]
    assert m["config"]["programs"] == {"user": 1.0}
    assert [r["id"] for r in records] == ["user/stripes", "user/waves"]
    assert records[1]["source"] == (user_glsl / "waves.glsl").read_text()
    assert all(r["sha256"] == user.record(p)["sha256"] for r, p in zip(records, user.load([user_glsl])))
    metas = [meta for _, meta in sh.iter_images(out)]
    assert len(metas) == 6 and kinds(out) == {"user": 6}
    by_id = {r["id"]: r["sha256"][:16] for r in records}
    assert all(s["source_sha256"] == by_id[s["program"]] for m_ in metas for s in m_["sources"])
    assert sh.verify(out) == ([], 6)
    # a rerun skips the complete shards; an edited file is a different config, named briefly
    before = {p.name: p.read_bytes() for p in out.glob("*.tar")}
    assert main(args) == 0 and "skipped 2 complete shards" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in out.glob("*.tar")} == before
    edited = tmp_path / "edited"
    edited.mkdir()
    for f in user_glsl.glob("*.glsl"):
        (edited / f.name).write_text(f.read_text().replace("40.0", "41.0"))
    assert main(args[:4] + [str(edited)] + args[5:]) == 2
    err = capsys.readouterr().err
    assert "different config (user_programs: [user/stripes (sha256" in err
    assert "void mainImage" not in err  # ids and hashes, not the texts


@pytest.fixture(scope="module")
def mixed(user_glsl, renderer, tmp_path_factory):
    """A kml-mixup set from user programs mixed with the library and the grammar."""
    programs, user_programs = fr.choose_programs(
        [str(user_glsl)], parse_weights("user=0.5,library=0.3,generated=0.2"))
    cfg = jobs.GenerateConfig(process="kml-mixup", res=32, num_images=8, shard_size=4,
                              programs=programs, user_programs=user_programs,
                              frames_per_program=2, seed=1)
    out = tmp_path_factory.mktemp("mixed") / "set"
    jobs.run(cfg, out, watchdog=False, renderer=renderer, progress=False)
    return cfg, out


def test_mixed_weights_are_written_and_round_trip(mixed):
    cfg, out = mixed
    m = sh.read_manifest(out)
    assert m["config"]["programs"] == {"library": 0.3, "generated": 0.2, "user": 0.5}
    assert m["config"] == cfg.to_json() and jobs.config_from_json(m["config"]) == cfg
    assert set(kinds(out)) <= {"library", "generated", "user"} and kinds(out)["user"] > 0


def test_explain_rebuilds_user_program_samples_exactly(mixed, tmp_path, capsys, renderer):
    _, out = mixed
    assert main(["shards", "explain", str(out), "--out", str(tmp_path / "e.png"),
                 "--images", "4"]) == 0
    assert "4 of 4 rebuilt exactly" in capsys.readouterr().out
    # the rebuild takes the texts the set recorded (not the files): without them, no rebuild
    meta = next(meta for _, meta in sh.iter_images(out)
                if any(s["program"].startswith("user/") for s in meta["sources"]))
    with pytest.raises(registry.ProgramError, match="not built in"):
        provenance.rebuild(meta, renderer)


def test_counts_of_program_kinds_follow_the_weights(user_glsl, renderer, tmp_path):
    """One program draw per frame (--frames-per-program 1): the kinds of 96 images follow
    user 0.5, library 0.3, generated 0.2 within 4 binomial standard deviations."""
    programs, user_programs = fr.choose_programs(
        [str(user_glsl)], parse_weights("user=0.5,library=0.3,generated=0.2"))
    n = 96
    cfg = jobs.GenerateConfig(process="shaders", res=16, num_images=n, shard_size=n,
                              programs=programs, user_programs=user_programs,
                              frames_per_program=1, seed=4)
    jobs.run(cfg, tmp_path, watchdog=False, renderer=renderer, progress=False)
    got = kinds(tmp_path)
    assert sum(got.values()) == n
    for kind, p in (("user", 0.5), ("library", 0.3), ("generated", 0.2)):
        assert abs(got[kind] - n * p) <= 4 * math.sqrt(n * p * (1 - p)), got


def test_draws_follow_the_weights_and_the_keywords_draw_as_before(user_glsl):
    mix = fr.mix_of({"library": 0.3, "generated": 0.2, "user": 0.5}, user.load([user_glsl]))
    rng = np.random.default_rng(0)
    n = 4000
    got = Counter(KINDS[fr.draw_program(rng, mix).id.split("/")[0]] for _ in range(n))
    for kind, p in (("user", 0.5), ("library", 0.3), ("generated", 0.2)):
        assert abs(got[kind] - n * p) <= 4 * math.sqrt(n * p * (1 - p)), got
    # `all` is the draw it always was: one uniform < 1/2 picks the library, else a grammar seed
    from procmem.shaders import grammar

    lib = registry.library()
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(200):
        old = (lib[int(b.integers(len(lib)))] if b.random() < 0.5
               else grammar.generate(int(b.integers(0, 2**31 - 1))))
        assert fr.draw_program(a, "all").id == old.id


def test_keywords_keep_their_config_and_weights_are_checked(user_glsl, tmp_path):
    assert fr.choose_programs(None) == (fr.default_programs(), ())
    assert fr.choose_programs(["library"]) == ("library", ())
    assert fr.choose_programs(["library", "generated"]) == ("all", ())
    assert fr.choose_programs(["generated"], {"generated": 3}) == ("generated", ())
    programs, progs = fr.choose_programs([str(user_glsl), "library"])
    assert programs == {"library": 0.5, "user": 0.5} and len(progs) == 2
    cfg = jobs.GenerateConfig(programs="all", num_images=4, shard_size=4)
    assert "user_programs" not in cfg.to_json()  # a set without them keeps its old config
    assert parse_weights("user=2,library=1") == {"user": 2.0, "library": 1.0}
    assert fr.choose_programs([str(user_glsl)], {"user": 2, "library": 1})[0] == {
        "library": 1 / 3, "user": 2 / 3}
    for words, weights, why in (
            ([str(user_glsl), "generated"], {"user": 1}, "no weight to generated"),
            (["library"], {"library": 1, "user": 1}, "no user programs given"),
            ([], {"lib": 1}, "--program-weights lib: not a program source"),
            ([], {"user": -1}, "must be a number > 0")):
        with pytest.raises(fr.FramePoolError, match=why):
            programs, progs = fr.choose_programs(words, weights)
            fr.check_programs(programs, progs)
    with pytest.raises(fr.FramePoolError, match="gives them no weight"):
        fr.check_programs("library", user.load([user_glsl]))
    for text in ("user", "user=0.5,user=0.5", "user=x"):
        with pytest.raises(fr.FramePoolError, match="source=weight"):
            parse_weights(text)


def test_generate_names_a_bad_file_and_a_clash(user_glsl, tmp_path, capsys):
    bad = tmp_path / "bad.glsl"
    bad.write_text("void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n"
                   "    fragColor = gl_FragColor;\n}\n")
    base = ["generate", "--images", "2", "--shard-size", "2", "--out", str(tmp_path / "o")]
    assert main(base + ["--programs", str(bad)]) == 2
    assert f"{bad}: user/bad: line 2: contains 'gl_FragColor'" in capsys.readouterr().err
    (tmp_path / "waves.glsl").write_text((user_glsl / "waves.glsl").read_text())
    assert main(base + ["--programs", str(user_glsl), str(tmp_path / "waves.glsl")]) == 2
    err = capsys.readouterr().err
    assert "both named user/waves" in err and str(user_glsl / "waves.glsl") in err
    assert not (tmp_path / "o").exists()  # refused before anything was written
