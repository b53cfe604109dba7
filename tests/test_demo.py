"""`procmem demo` writes the library contact sheet into its output directory."""

from PIL import Image

from procmem.cli import main
from shaders import registry


def test_demo_writes_library_sheet(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--size", "16", "--frames", "2"]) == 0
    sheet = out / "library-sheet.png"
    assert f"library contact sheet: {sheet.resolve()}" in capsys.readouterr().out
    img = Image.open(sheet)
    assert img.format == "PNG"
    assert img.width * img.height > len(registry.library()) * 2 * 16 * 16
    assert sorted(p.name for p in out.iterdir()) == ["library-sheet.png"]


def test_demo_rejects_bad_sizes(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--frames", "0"]) == 2
    assert "--frames must be at least 1" in capsys.readouterr().err
