"""Contact sheets: layout, captions, borders, atomic PNG writing, program sheets, window errors."""

import numpy as np
import pytest
from PIL import Image

from procmem.generators.sheet import (
    PAD,
    NoDisplayError,
    SheetError,
    SheetWindow,
    contact_sheet,
    render_program_sheet,
    save_png,
    save_sheet,
)
from procmem.shaders import registry
from procmem.shaders.program import Program


def solid(colour, h=10, w=20):
    return np.full((h, w, 3), colour, np.uint8)


def test_grid_layout_and_cell_contents():
    imgs = [solid((255, 0, 0)), solid((0, 255, 0)), solid((0, 0, 255))]
    sheet = contact_sheet(imgs, cols=2)
    assert sheet.size == (PAD + 2 * (20 + PAD), PAD + 2 * (10 + PAD))
    a = np.asarray(sheet)
    assert tuple(a[PAD + 5, PAD + 10]) == (255, 0, 0)
    assert tuple(a[PAD + 5, PAD + 20 + PAD + 10]) == (0, 255, 0)
    assert tuple(a[PAD + 10 + PAD + 5, PAD + 10]) == (0, 0, 255)  # second row


def test_captions_borders_and_mixed_inputs():
    imgs = np.stack([solid((200, 200, 200))] * 2)  # one [N, H, W, 3] array
    plain = contact_sheet(imgs, cell=(40, 20))
    sheet = contact_sheet(imgs, captions=["right", "wrong\nsim 0.31"], cell=(40, 20),
                          borders=["green", (255, 0, 0)], border_width=2)
    assert sheet.height > plain.height + 20  # two caption lines under the cells
    a = np.asarray(sheet)
    assert tuple(a[PAD, PAD + 10]) == (0, 128, 0)  # green border, top edge of cell 0
    x1 = PAD + (40 + 4) + PAD
    assert tuple(a[PAD, x1 + 10]) == (255, 0, 0)
    assert tuple(a[PAD + 12, PAD + 20]) == (200, 200, 200)  # image inside the border
    caption_band = a[PAD + 24:, PAD:PAD + 44]
    assert (caption_band > 150).any()  # some caption text pixels


def test_images_are_scaled_into_the_cell_and_float_and_pil_accepted():
    big = Image.new("RGB", (100, 50), (10, 20, 30))
    flt = np.ones((8, 8), np.float32) * 0.5
    sheet = contact_sheet([big, flt], cell=32, cols=2)
    a = np.asarray(sheet)
    assert sheet.size == (PAD + 2 * (32 + PAD), PAD + 32 + PAD)
    assert tuple(a[PAD + 16, PAD + 16]) == (10, 20, 30)
    assert tuple(a[PAD + 16, PAD + 32 + PAD + 16]) == (128, 128, 128)


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(SheetError, match="at least one"):
        contact_sheet([])
    with pytest.raises(SheetError, match="2 captions for 1 images"):
        contact_sheet([solid(0)], captions=["a", "b"])
    with pytest.raises(SheetError, match="unknown border colour 'greeen'"):
        contact_sheet([solid(0)], borders=["greeen"])
    with pytest.raises(SheetError, match="shape \\(4, 4, 5\\)"):
        contact_sheet([np.zeros((4, 4, 5), np.uint8)])
    with pytest.raises(SheetError, match="PNG"):
        save_png(tmp_path / "x.jpg", solid(0))


def test_save_sheet_writes_a_complete_png(tmp_path):
    path = save_sheet(tmp_path / "sub" / "s.png", [solid((1, 2, 3))], captions=["one"])
    assert Image.open(path).format == "PNG"
    assert [p.name for p in path.parent.iterdir()] == ["s.png"]  # no temporary left over


def test_program_sheet_renders_and_marks_failures(renderer):
    bad = Program(id="t/broken", family="t",
                  source="void mainImage(out vec4 c, in vec2 f) { c = vec4(nope); }")
    good = registry.library()[0]
    sheet, failures = render_program_sheet(renderer, [good, bad], per_program=2, size=32,
                                           progress=False)
    assert len(failures) == 1 and "t/broken failed to compile" in failures[0]
    a = np.asarray(sheet)
    assert sheet.width == PAD + 2 * (32 + 6 + PAD)  # one row per program, 2 frames
    assert a[PAD + 10:PAD + 30, PAD + 10:PAD + 30].std() > 0  # a real render
    again, _ = render_program_sheet(renderer, [good, bad], per_program=2, size=32,
                                    progress=False)
    assert np.array_equal(a, np.asarray(again))  # same seed, same sheet


def test_window_without_display_says_what_to_do(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(NoDisplayError, match="no display found.*drop --window.*set DISPLAY"):
        SheetWindow()


def _display_works() -> bool:
    import os

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    import glfw

    return bool(glfw.init())


@pytest.mark.skipif(not _display_works(), reason="no display (set DISPLAY, e.g. Xvfb :99)")
def test_window_shows_the_sheet(renderer):
    import glfw

    window = SheetWindow(title="procmem test")
    try:
        sheet, _ = render_program_sheet(renderer, list(registry.library()[:2]), size=32,
                                        progress=False, on_update=window.show)
        assert window.show(sheet)
        glfw.make_context_current(window.window)
        fw, fh = glfw.get_framebuffer_size(window.window)
        shown = np.frombuffer(window.ctx.screen.read(viewport=(0, 0, fw, fh), components=3),
                              np.uint8).reshape(fh, fw, 3)
        if (fw, fh) == sheet.size:
            assert np.array_equal(shown[::-1], np.asarray(sheet))  # GL rows are bottom-up
        glfw.set_window_should_close(window.window, True)
        window.wait_closed()
    finally:
        window.close()
