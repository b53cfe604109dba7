"""User programs as text: files, folders and globs become `user/<name>`, checked, recorded."""

import pytest

from procmem.shaders import registry, user
from procmem.shaders.program import validate


def test_files_folders_and_globs_give_user_ids(user_glsl, tmp_path):
    ids = ["user/stripes", "user/waves"]
    assert [p.id for p in user.load([user_glsl])] == ids  # a folder: every .glsl below it
    assert [p.id for p in user.load([str(user_glsl / "*.glsl")])] == ids  # a glob
    # files in any order, one given twice: sorted by id, each once
    got = user.load([user_glsl / "waves.glsl", user_glsl / "stripes.glsl", user_glsl / "waves.glsl"])
    assert [p.id for p in got] == ids
    waves = got[1]
    assert waves.source == (user_glsl / "waves.glsl").read_text() and waves.family == "user"
    assert waves.description.startswith("rings") and waves.meta["file"].endswith("waves.glsl")
    for word, why in ((tmp_path / "nothing.glsl", "no such file"), (str(tmp_path / "*.glsl"),
                      "matches no file"), (tmp_path, "holds no .glsl file")):
        with pytest.raises(user.UserProgramError, match=why):
            user.load([word])


def test_a_bad_file_is_named_with_its_line(user_glsl, tmp_path):
    (tmp_path / "sampler.glsl").write_text(
        "void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n"
        "    vec2 uv = fragCoord / iResolution.xy;\n"
        "    fragColor = texture(iChannel0, uv);\n}\n")
    (tmp_path / "open.glsl").write_text(
        "void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n    fragColor = vec4(1.0);\n")
    with pytest.raises(user.UserProgramError) as e:
        user.load([user_glsl, tmp_path])
    text = str(e.value)
    assert "2 problems" in text  # every bad file at once, the good ones not mentioned
    assert f"{tmp_path / 'sampler.glsl'}: user/sampler: line 3: contains 'iChannel'" in text
    assert f"{tmp_path / 'open.glsl'}: user/open: line 1: unbalanced '{{}}'" in text
    assert "waves" not in text


def test_a_name_clash_names_both_files(user_glsl, tmp_path):
    (tmp_path / "waves.glsl").write_text((user_glsl / "waves.glsl").read_text())
    with pytest.raises(user.UserProgramError, match="are both named user/waves") as e:
        user.load([user_glsl, tmp_path / "waves.glsl"])
    assert str(user_glsl / "waves.glsl") in str(e.value) and str(tmp_path / "waves.glsl") in str(e.value)
    (tmp_path / "my waves.glsl").write_text("")
    with pytest.raises(user.UserProgramError, match="cannot be a program name"):
        user.load([tmp_path / "my waves.glsl"])


def test_records_round_trip_and_a_changed_text_is_refused(user_glsl):
    programs = user.load([user_glsl])
    records = [user.record(p) for p in programs]
    assert all(len(r["sha256"]) == 64 and r["source"] == p.source for r, p in zip(records, programs))
    assert user.from_records(records) == programs
    assert all(user.record_problem(r) is None for r in records)
    altered = dict(records[0], source=records[0]["source"].replace("30.0", "31.0"))
    assert "the text was altered" in user.record_problem(altered)
    with pytest.raises(user.UserProgramError, match="recorded user program 0: the stored text"):
        user.from_records([altered])
    assert "not user/<name>" in user.record_problem(dict(records[0], id="lib/x/y"))
    assert "string fields" in user.record_problem({"id": "user/x"})


def test_registry_finds_user_ids_only_in_the_table_it_is_given(user_glsl):
    table = user.table(user.load([user_glsl]))
    assert registry.get("user/waves", user=table) is table["user/waves"]
    assert registry.get(registry.library()[0].id, user=table) is registry.library()[0]
    with pytest.raises(registry.ProgramError, match="not built in"):
        registry.get("user/waves")
    with pytest.raises(registry.ProgramError, match="given: user/stripes, user/waves"):
        registry.get("user/other", user=table)


def test_validate_names_lines():
    text = "void mainImage(out vec4 c, in vec2 p) {\n  c = vec4(1.0);\n}\nuniform float iTime;\n"
    assert validate("t/x", text) == ["t/x: line 4: declares uniform 'iTime'; the wrapper declares it"]
    assert "t/x: line 2: unbalanced '()' (2 open, 3 close)" in validate(
        "t/x", text.replace("vec4(1.0)", "vec4(1.0))"))
