"""The frame quality filter on constructed frames and on real renders."""

import numpy as np
import pytest

from procmem.generators.quality import MAX_DOMINANT_FRACTION, MIN_CONTRAST_STD, FrameShapeError, frame_problem
from procmem.generators.render import random_params
from procmem.shaders import registry
from procmem.shaders.program import PARAM_COUNT, Program

H = W = 64


def test_constant_frame_is_blank():
    assert frame_problem(np.full((H, W, 3), 77, np.uint8)).startswith("blank")


def test_two_pixel_speckle_is_rejected():
    img = np.zeros((H, W, 3), np.uint8)
    img[3, 5] = img[40, 17] = 255
    assert frame_problem(img).startswith("saturated")
    img = np.full((H, W, 3), 30, np.uint8)
    img[3, 5] = img[40, 17] = 255  # not clipped everywhere: contrast std 5.3 passes,
    assert frame_problem(img).startswith("mostly one colour")  # but 99.95% is one colour


def test_faint_gradient_is_near_constant_and_strong_one_passes():
    ramp = np.linspace(0, 1, W, dtype=np.float32)[None, :, None].repeat(H, 0).repeat(3, 2)
    faint = (100 + 8 * ramp).astype(np.uint8)
    assert frame_problem(faint).startswith("near-constant")
    assert frame_problem((255 * ramp).astype(np.uint8)) is None
    assert frame_problem(ramp) is None  # float in [0, 1] too


def test_gradient_within_one_colour_bin_is_degenerate():
    ramp = np.linspace(0, 1, W, dtype=np.float32)[None, :, None].repeat(H, 0).repeat(3, 2)
    img = (128 + 30 * ramp).astype(np.uint8)  # std ~9 > threshold, but one 32-level bin
    assert frame_problem(img).startswith("degenerate")


def test_noise_and_binary_pattern_pass():
    rng = np.random.default_rng(0)
    assert frame_problem(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)) is None
    checker = ((np.indices((H, W)).sum(0) // 8) % 2 * 255).astype(np.uint8)
    assert frame_problem(checker) is None  # grey [H, W], black and white half each


def test_isoluminant_colour_pattern_passes():
    img = np.zeros((H, W, 3), np.uint8)
    img[:, : W // 2] = (200, 100, 50)
    img[:, W // 2:] = (50, 150, 60)
    assert frame_problem(img) is None


def test_nan_frames_are_rejected():
    img = np.random.default_rng(1).random((H, W, 3)).astype(np.float32)
    img[:4] = np.nan
    assert frame_problem(img).startswith("not finite: 6.2%")


def test_thresholds_are_sane():
    assert 0 < MIN_CONTRAST_STD < 10 and 0.9 < MAX_DOMINANT_FRACTION < 1


def test_bad_shapes_are_named():
    with pytest.raises(FrameShapeError, match="once per frame"):
        frame_problem(np.zeros((2, H, W, 3), np.uint8))
    with pytest.raises(FrameShapeError, match="dtype int64"):
        frame_problem(np.zeros((H, W, 3), np.int64))


def test_real_renders(renderer):
    flat = Program(id="t/flat", family="t",
                   source="void mainImage(out vec4 c, in vec2 f) { c = vec4(0.3, 0.5, 0.7, 1); }")
    blowup = Program(id="t/blowup", family="t",
                     source="void mainImage(out vec4 c, in vec2 f) {\n"
                            "    c = vec4(vec3(1e30 * (f.x - 1.0)), 1);\n}\n")
    zero = np.zeros((1, PARAM_COUNT))
    assert frame_problem(renderer.render(flat, [0.0], zero)[0]).startswith("blank")
    assert frame_problem(renderer.render(blowup, [0.0], zero)[0]).startswith("saturated")
    frames = renderer.render(registry.get("lib/noise/value_fbm"), [0.0] * 4, random_params(0, 4))
    assert [frame_problem(f) for f in frames] == [None] * 4
