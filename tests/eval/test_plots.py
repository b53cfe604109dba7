"""The one pictures module: neighbour grids for the evaluation, the demo and `procmem memory`."""

from __future__ import annotations

import numpy as np
from PIL import Image

from procmem.eval.plots import accuracy_vs_k, neighbour_grid
from procmem.generators.sheet import PAD


def solid(rgb, size=32):
    return np.full((size, size, 3), rgb, np.uint8)


def cell_centre(sheet: Image.Image, row: int, col: int, rows: int, cols: int, border: int):
    """Centre pixel of a cell's image in a contact sheet of rows x cols cells of 32 px."""
    box_w = (sheet.width - PAD) // cols - PAD
    box_h = (sheet.height - PAD) // rows - PAD
    assert box_w == 32 + 2 * border
    x = PAD + col * (box_w + PAD) + border + 16
    y = PAD + row * (box_h + PAD) + border + 16
    return sheet.getpixel((x, y))


def corner(sheet: Image.Image, row: int, col: int, rows: int, cols: int):
    box_w, box_h = (sheet.width - PAD) // cols - PAD, (sheet.height - PAD) // rows - PAD
    return sheet.getpixel((PAD + col * (box_w + PAD), PAD + row * (box_h + PAD)))


def test_labelled_grid_colours_borders_and_pads_short_rows(tmp_path):
    red, blue = solid((250, 0, 0)), solid((0, 0, 250))
    out = neighbour_grid(tmp_path / "g.png", [red, blue], [0, 1], [[red, blue], [blue]],
                         [[0, 1], [1]], ["cat", "dog"], predictions=[0, 0], cell=32)
    sheet = Image.open(out).convert("RGB")
    assert cell_centre(sheet, 0, 1, 2, 3, 3) == (250, 0, 0)
    assert corner(sheet, 0, 1, 2, 3) == (0, 128, 0)  # neighbour of the query's class: green
    assert corner(sheet, 0, 2, 2, 3) == (255, 0, 0)  # of another class: red
    assert corner(sheet, 1, 0, 2, 3) == (255, 0, 0)  # query 1 predicted wrongly
    assert cell_centre(sheet, 1, 1, 2, 3, 3) == (0, 0, 250)
    assert cell_centre(sheet, 1, 2, 2, 3, 3) == (0, 0, 0)  # padding, not the next row wrapped


def test_grid_reads_images_from_source_paths_and_blanks_unreadable_ones(tmp_path):
    Image.fromarray(solid((0, 200, 0))).save(tmp_path / "green.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    out = neighbour_grid(tmp_path / "g.png", [None], None,
                         [[str(tmp_path / "green.png"), tmp_path / "broken.png"]], [[4, 7]],
                         {4: "four"}, sims=[[0.9, 0.5]], cell=32)
    sheet = Image.open(out).convert("RGB")
    assert sheet.width == PAD + 3 * (32 + PAD)  # no labels: no borders
    assert cell_centre(sheet, 0, 0, 1, 3, 0) == (0, 0, 0)
    assert cell_centre(sheet, 0, 1, 1, 3, 0) == (0, 200, 0)
    assert cell_centre(sheet, 0, 2, 1, 3, 0) == (0, 0, 0)


def test_accuracy_vs_k_draws_one_curve_per_rule(tmp_path):
    sweep = {"rank": {1: {1: 0.9, 5: 1.0}, 10: {1: 0.8, 5: 1.0}},
             "plurality": {1: {1: 0.9, 5: 1.0}, 10: {1: 0.5, 5: 0.9}}}
    out = accuracy_vs_k(tmp_path / "k.png", sweep, "title")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 200


def test_log_axes_of_a_scaling_curve_have_no_overlapping_labels():
    from procmem.eval import plots

    sizes = [12, 25, 50, 100, 200]  # a digits memory of 200: errors within one decade
    errs = {"plurality": [0.3, 0.2, 0.12, 0.1, 0.08], "rank": [0.28, 0.18, 0.1, 0.08, 0.06]}
    plt = plots._plt()
    fig, ax = plt.subplots(figsize=(5, 3.6))  # matplotlib's own log ticks: labels collide
    for y in errs.values():
        ax.plot(sizes, y)
    ax.set_xscale("log")
    ax.set_yscale("log")
    assert plots.overlapping_labels(fig) > 0
    plt.close(fig)
    fig = plots.curves_figure({k: (sizes, v) for k, v in errs.items()}, "memory size (items)",
                              "top-1 error", logx=True, logy=True)
    assert plots.overlapping_labels(fig) == 0
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["12", "25", "50", "100", "200"]
