"""`procmem shaders list|show|render|sheet`, called in-process through procmem.cli.main (and
once in a fresh interpreter, to see what the list and show handlers import)."""

import importlib.util

import numpy as np
import pytest
from PIL import Image

from procmem.cli import main
from procmem.shaders import registry

FIRST = registry.library()[0]


def test_list_prints_id_family_tags(capsys):
    assert main(["shaders", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(registry.library())
    row = next(line for line in out if line.startswith(FIRST.id))
    assert FIRST.family in row and all(t in row for t in FIRST.tags)
    assert main(["shaders", "list", "--family", FIRST.family]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows and all(f" {FIRST.family} " in r for r in rows)


def test_bad_family_and_id_are_clear_errors(capsys):
    assert main(["shaders", "list", "--family", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "no library family 'nosuch'" in err and FIRST.family in err
    assert main(["shaders", "show", "lib/nosuch/x"]) == 2
    assert "procmem shaders list" in capsys.readouterr().err
    assert main(["shaders", "render", "gen/1/x", "--out", "x.png"]) == 2
    assert "gen/<version>/<seed>" in capsys.readouterr().err


def test_show_prints_metadata_and_glsl(capsys):
    assert main(["shaders", "show", FIRST.id]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"id: {FIRST.id}\nfamily: {FIRST.family}")
    assert "void mainImage" in out


def test_render_writes_the_frame_params_come_from_the_seed(tmp_path, capsys):
    a, b, c = (tmp_path / f"{n}.png" for n in "abc")
    for path, seed in ((a, 1), (b, 1), (c, 2)):
        assert main(["shaders", "render", FIRST.id, "--out", str(path), "--res", "48",
                     "--seed", str(seed), "--time", "1.5"]) == 0
    assert f"wrote {a}" in capsys.readouterr().out
    pa, pb, pc = (np.asarray(Image.open(p)) for p in (a, b, c))
    assert pa.shape == (48, 48, 3) and np.array_equal(pa, pb) and not np.array_equal(pa, pc)
    assert main(["shaders", "render", FIRST.id, "--out", str(a), "--res", "0"]) == 2


def test_sheet_of_a_family(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert main(["shaders", "sheet", "--family", FIRST.family, "--frames", "2", "--res", "24",
                 "--out", str(out)]) == 0
    n = len(registry.select(FIRST.family))
    assert f"{n} programs x 2 frames at 24 px" in capsys.readouterr().out
    img = Image.open(out)
    assert img.width * img.height > n * 2 * 24 * 24


@pytest.mark.skipif(importlib.util.find_spec("procmem.shaders.grammar") is None,
                    reason="shaders.grammar not in this checkout")
def test_sheet_of_generated_programs(tmp_path, capsys):
    out = tmp_path / "gen.png"
    assert main(["shaders", "sheet", "--generated", "2", "--seed", "5", "--res", "24",
                 "--out", str(out)]) == 0
    assert "2 programs x 1 frames" in capsys.readouterr().out
    img = Image.open(out)
    assert img.width * img.height > 2 * 24 * 24


def test_window_without_display_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = tmp_path / "w.png"
    assert main(["shaders", "sheet", "--window", "--out", str(out)]) == 2
    assert "no display found" in capsys.readouterr().err and not out.exists()


def test_list_and_show_import_no_generators_module():
    """Listing and showing programs is text only: the handlers load no rendering code."""
    import subprocess
    import sys

    code = ("import argparse, sys\n"
            "from procmem.cli import shaders as s\n"
            "s.cmd_list(argparse.Namespace(family=None))\n"
            "s.cmd_show(argparse.Namespace(id='gen/1/3'))\n"
            "s.cmd_show(argparse.Namespace(id=%r))\n"
            "print(sorted(m for m in sys.modules if m.startswith('procmem.generators')))\n"
            % FIRST.id)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "gen/1/3" in out and FIRST.id in out
    assert out.splitlines()[-1] == "[]"


def test_render_a_user_file_and_name_its_compile_error(user_glsl, tmp_path, capsys):
    out = tmp_path / "w.png"
    waves = user_glsl / "waves.glsl"
    assert main(["shaders", "render", str(waves), "--out", str(out), "--res", "40"]) == 0
    assert "(user/waves, 40 px" in capsys.readouterr().out
    by_file = np.asarray(Image.open(out))
    assert by_file.shape == (40, 40, 3) and by_file.std() > 0
    # the same program by id, from a folder given with --programs: the same pixels
    assert main(["shaders", "render", "user/waves", "--programs", str(user_glsl), "--out",
                 str(out), "--res", "40"]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), by_file)
    assert main(["shaders", "render", "--programs", str(user_glsl), "--out", str(out)]) == 2
    assert "name the program to render: --programs gives 2" in capsys.readouterr().err
    broken = tmp_path / "broken.glsl"
    broken.write_text("void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n"
                      "    fragColor = vec4(fragCoord, nothing, 1.0);\n}\n")
    assert main(["shaders", "render", str(broken), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: program user/broken failed to compile: line 2:" in err and "nothing" in err


def test_sheet_of_a_folder_of_user_programs(user_glsl, tmp_path, capsys):
    out = tmp_path / "mine.png"
    assert main(["shaders", "sheet", "--programs", str(user_glsl), "--frames", "2", "--res", "24",
                 "--out", str(out)]) == 0
    assert "2 programs x 2 frames at 24 px" in capsys.readouterr().out
    assert Image.open(out).width >= 2 * 24
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "no_main.glsl").write_text("void main() { }\n")
    assert main(["shaders", "sheet", "--programs", str(tmp_path / "bad"), "--out", str(out)]) == 2
    assert "no_main.glsl: user/no_main: no 'void mainImage" in capsys.readouterr().err
