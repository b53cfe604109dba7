"""Reject frames that carry no picture: blank, near-constant, speckled, or not finite.

Random parameters make some programs output a flat colour, a few stray pixels on an empty
background, or NaN/Inf (which the GL clamp turns into flat black or white). Such frames teach
a self-supervised encoder nothing and make DINO's two crops trivially identical, so generation
drops them. `frame_problem` says why a frame is rejected, or None to accept it; the checks
are cheap (a few ms at 256 px) so they run on every frame.
"""

from __future__ import annotations

import numpy as np

from procmem.core.errors import ProcmemError

MIN_CONTRAST_STD = 3.0
"""Lowest accepted standard deviation (0-255 units) of luminance or of any one channel.
Below ~3 grey levels a frame is flat to the eye after 8-bit quantisation and JPEG
(whose quality-90 error is ~1-2 levels); taking the max over channels keeps
isoluminant colour patterns."""

QUANT_BITS = 3
"""Bits per channel when counting colours (8 x 8 x 8 = 512 bins): coarse enough that noise
and dithering within a flat area fall in one bin."""

MIN_COLOURS = 2
"""Fewest distinct quantised colours: a frame inside one 32-level bin is a flat colour even
when its std passes (a faint gradient). Two colours are enough: binary patterns are fine."""

MAX_DOMINANT_FRACTION = 0.97
"""Most of the frame one quantised colour may cover: above 97% the frame is an empty
background with a few specks or a thin line, which random crops (DINO's local crops
cover 5-40% of the image) almost never see."""

MAX_SATURATED_FRACTION = 0.95
"""Most of the frame that may be one clipped colour (every channel exactly 0 or 255): values
that blow up, or NaN/Inf which the wrapper's clamp maps to 0 or 1, give that colour. Stricter
than MAX_DOMINANT_FRACTION because exact clipping is evidence of a numeric failure; binary
patterns (black and white, half each) pass."""


class FrameShapeError(ProcmemError):
    """The quality filter was given something that is not an image."""


def _contrast(a: np.ndarray) -> float:
    """max(std of BT.601 luminance, std of each channel) of uint8 [H, W, C], or the largest
    channel std alone when that reaches MIN_CONTRAST_STD (the verdict is then known)."""
    f = a.astype(np.float32)
    if a.shape[2] != 3:
        return float(f.std())
    channels = [float(f[..., c].std()) for c in range(3)]
    if max(channels) >= MIN_CONTRAST_STD:
        return max(channels)
    luma = f @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601
    return max(float(luma.std()), *channels)


def frame_problem(img) -> str | None:
    """Why `img` (uint8 [H, W, 3] or [H, W], or float in [0, 1]) is rejected; None if accepted."""
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3) or a.shape[0] < 1 or a.shape[1] < 1:
        raise FrameShapeError(
            f"frame_problem needs one image [H, W, 3] or [H, W], got shape {np.shape(img)}; "
            "call it once per frame of a batch"
        )
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.floating):
            raise FrameShapeError(f"frame dtype {a.dtype}: give uint8 or float in [0, 1]")
        bad = ~np.isfinite(a)
        if bad.any():
            return f"not finite: {bad.any(axis=2).mean():.1%} of pixels are NaN or Inf"
        a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    a = np.ascontiguousarray(a)
    flat, ch = a.reshape(-1), a.shape[2]
    if np.array_equal(flat[ch:], flat[:-ch]):  # every pixel equals the one before it
        return "blank: every pixel has the same colour"
    # at most (values 0 or 255) / channels pixels are clipped in every channel: count them
    # only when that bound could pass the threshold
    ends = np.count_nonzero(np.add(flat, 1) <= 1)
    if ends // ch / (flat.size // ch) > MAX_SATURATED_FRACTION:
        clipped = np.all((a == 0) | (a == 255), axis=2)
        if clipped.mean() > MAX_SATURATED_FRACTION:
            # the most common clipped colour, as a code 0..7 (one bit per channel)
            code = ((a[clipped] == 255) * (1 << np.arange(ch))).sum(axis=1)
            share = np.bincount(code).max() / clipped.size
            if share > MAX_SATURATED_FRACTION:
                return (f"saturated: {share:.1%} of pixels are one clipped colour "
                        f"(> {MAX_SATURATED_FRACTION:.0%}), values blow up or are NaN")
    contrast = _contrast(a)
    if contrast < MIN_CONTRAST_STD:
        return f"near-constant: contrast std {contrast:.2f} < {MIN_CONTRAST_STD} grey levels"
    q = a >> (8 - QUANT_BITS)
    if ch == 3:
        codes = q[..., 0].astype(np.uint16) << (2 * QUANT_BITS)
        codes |= q[..., 1].astype(np.uint16) << QUANT_BITS
        codes |= q[..., 2]
    else:
        codes = q[..., 0]
    counts = np.bincount(codes.ravel(), minlength=1 << (3 * QUANT_BITS))
    colours = int((counts > 0).sum())
    if colours < MIN_COLOURS:
        return f"degenerate: {colours} colour(s) at {QUANT_BITS} bits per channel"
    dominant = counts.max() / codes.size
    if dominant > MAX_DOMINANT_FRACTION:
        return (f"mostly one colour: {dominant:.1%} of pixels (> {MAX_DOMINANT_FRACTION:.0%}), "
                "a few specks on an empty background")
    return None
