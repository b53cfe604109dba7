"""The frame quality filter on constructed frames and on real renders."""

import numpy as np
import pytest

from procmem.generators.quality import (
    MAX_DOMINANT_FRACTION,
    MAX_SATURATED_FRACTION,
    MIN_CONTRAST_STD,
    FrameShapeError,
    frame_problem,
)
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


def _verdict_by_definition(a: np.ndarray) -> str:
    """Which check rejects uint8 frame a [H, W, 3], each computed the plain way (no bounds,
    no short cuts): the key `frame_problem`'s message starts with."""
    f = a.astype(np.float32)
    luma = f @ np.array([0.299, 0.587, 0.114], np.float32)
    contrast = max(float(luma.std()), *(float(f[..., c].std()) for c in range(3)))
    if np.all(a == a[:1, :1]):
        return "blank"
    clipped = np.all((a == 0) | (a == 255), axis=2)
    if clipped.mean() > MAX_SATURATED_FRACTION:
        code = ((a[clipped] == 255) * (1 << np.arange(3))).sum(axis=1)
        if np.bincount(code).max() / clipped.size > MAX_SATURATED_FRACTION:
            return "saturated"
    if contrast < MIN_CONTRAST_STD:
        return "near-constant"
    q = (a >> 5).astype(np.int32)
    counts = np.bincount(((q[..., 0] << 6) | (q[..., 1] << 3) | q[..., 2]).ravel(), minlength=512)
    if (counts > 0).sum() < 2:
        return "degenerate"
    if counts.max() / counts.sum() > MAX_DOMINANT_FRACTION:
        return "mostly one colour"
    return "ok"


def test_short_cuts_give_the_verdict_of_the_plain_checks():
    """Frames around every threshold: blank but for one pixel, clipped just above and below
    95%, contrast std near 3 in one channel or in luminance only, specks on a flat colour."""
    rng = np.random.default_rng(0)
    frames = []
    for i in range(240):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        kind = i % 8
        if kind == 0:
            img = np.full((h, w, 3), rng.integers(0, 256, 3), np.uint8)
            img.reshape(-1, 3)[rng.integers(h * w)] += np.uint8(i % 2)
        elif kind == 1:
            img = (rng.random((h, w, 3)) < rng.uniform(0, 1)).astype(np.uint8) * 255
        elif kind == 2:
            img = np.where(rng.random((h, w, 1)) < rng.uniform(0.9, 1.0), np.uint8(0),
                           rng.integers(0, 256, (h, w, 3)).astype(np.uint8))
        elif kind in (3, 4):
            img = np.clip(rng.normal(128, rng.uniform(2, 4), (h, w, 3)), 0, 255).astype(np.uint8)
            if kind == 4:
                img[..., 1:] = img[..., :1]  # grey: luminance and channels alike
        elif kind == 5:
            img = np.full((h, w, 3), rng.integers(0, 200), np.uint8)
            img.reshape(-1, 3)[rng.integers(0, h * w, max(1, h * w // 40))] = rng.integers(0, 256, 3)
        elif kind == 6:
            img = (rng.integers(0, 256, (h, w)) // rng.integers(1, 300)).astype(np.uint8)[..., None]
            img = np.repeat(img, 3, axis=2)
        else:
            img = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
        frames.append(img)
    verdicts = [(frame_problem(f) or "ok").split(":")[0] for f in frames]
    assert verdicts == [_verdict_by_definition(f) for f in frames]
    assert {"blank", "saturated", "near-constant", "degenerate", "mostly one colour",
            "ok"} <= set(verdicts)


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
