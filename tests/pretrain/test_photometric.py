"""Colour augmentations on the training device: each step equals torchvision's per sample,
the probabilities are dino's per view, the draws are reproducible by step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from procmem.pretrain.augment import MultiCrop
from procmem.pretrain.config import load_config
from procmem.pretrain.photometric import (
    BatchPhotometric,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    gaussian_blur,
    grayscale,
)


@pytest.fixture()
def images():
    torch.manual_seed(0)
    return torch.rand(5, 3, 24, 20)


@pytest.mark.parametrize("ours, theirs, lo, hi", [
    (adjust_brightness, TF.adjust_brightness, 0.6, 1.4),
    (adjust_contrast, TF.adjust_contrast, 0.6, 1.4),
    (adjust_saturation, TF.adjust_saturation, 0.8, 1.2),
    (adjust_hue, TF.adjust_hue, -0.1, 0.1),
])
def test_each_adjustment_is_torchvisions_with_a_factor_per_sample(images, ours, theirs, lo, hi):
    f = torch.linspace(lo, hi, len(images))
    got = ours(images.clone(), f.view(-1, 1, 1, 1))
    for i in range(len(images)):
        assert torch.allclose(got[i], theirs(images[i], float(f[i])), atol=1e-5), (ours, i)


def test_grey_and_blur_are_torchvisions(images):
    assert torch.allclose(grayscale(images), TF.rgb_to_grayscale(images), atol=1e-6)
    sigma = torch.tensor([0.1, 0.5, 1.0, 1.5, 2.0])
    got = gaussian_blur(images, sigma, radius=6)
    for i, s in enumerate(sigma.tolist()):
        assert torch.allclose(got[i], TF.gaussian_blur(images[i], [13, 13], [s, s]), atol=1e-5)
    small = gaussian_blur(torch.rand(2, 3, 4, 4), sigma[:2], radius=6)  # kernel > crop
    assert small.shape == (2, 3, 4, 4) and torch.isfinite(small).all()


def _cfg(*overrides):
    return load_config(None, ["crops.local_number=2", *overrides])


def test_probabilities_follow_dino_per_view():
    B = 400
    aug = BatchPhotometric(_cfg("augment.jitter_p=0", "augment.grey_p=0"), B, seed=0)
    # a flat grey-level ramp: blur leaves it nearly alone, solarisation flips the bright half
    ramp = torch.linspace(0, 255, 32).round().to(torch.uint8).view(1, 1, 1, 32).expand(1, 3, 32, 32)
    crops = [ramp.repeat(2 * B, 1, 1, 1), ramp[..., :16, :16].repeat(2 * B, 1, 1, 1)]
    out = aug(crops, step=0)
    flipped = (out[0][:, 0, 0, -1] < 0.5)  # the brightest pixel became dark
    assert not flipped[:B].any()                            # view 1: never solarised
    assert abs(flipped[B:].float().mean() - 0.2) < 0.06     # view 2: p 0.2
    assert out[1].shape == (2 * B, 3, 16, 16) and out[1].dtype == torch.float32


def test_jitter_grey_and_identity_rates():
    B = 500
    colour = torch.tensor([200, 30, 90], dtype=torch.uint8).view(1, 3, 1, 1).expand(2 * B, 3, 8, 8)
    crops = [colour.contiguous(), colour[:, :, :4, :4].repeat(1, 1, 1, 1)[: 2 * B]]
    off = BatchPhotometric(_cfg("augment.jitter_p=0", "augment.grey_p=0", "augment.blur_p=[0,0,0]",
                                "augment.solarize_p=0"), B)
    assert torch.allclose(off(crops, 0)[0], colour.float() / 255)   # nothing drawn: identity
    grey = BatchPhotometric(_cfg("augment.jitter_p=0", "augment.grey_p=1"), B)(crops, 0)[0]
    assert torch.allclose(grey[:, 0], grey[:, 1]) and torch.allclose(grey[:, 1], grey[:, 2])
    full = BatchPhotometric(_cfg(), B)(crops, 0)[0]
    changed = (full - colour.float() / 255).abs().amax(dim=(1, 2, 3)) > 1e-3
    # changed unless neither jitter (0.8) nor grey (0.2) was drawn (blur keeps a flat colour)
    assert abs(changed.float().mean() - (1 - 0.2 * 0.8)) < 0.05


def test_draws_are_reproducible_by_step_and_rank():
    cfg = _cfg()
    crops = [torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8),
             torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8)]
    a = BatchPhotometric(cfg, 4, seed=1)
    assert torch.equal(a(crops, 7)[0], BatchPhotometric(cfg, 4, seed=1)(crops, 7)[0])
    assert not torch.equal(a(crops, 7)[0], a(crops, 8)[0])
    assert not torch.equal(a(crops, 7)[0], BatchPhotometric(cfg, 4, seed=1, rank=1)(crops, 7)[0])


def test_loader_keeps_only_the_geometry_when_the_device_does_the_colour():
    flat = torch.tensor([200, 30, 90], dtype=torch.uint8).view(3, 1, 1).expand(3, 64, 64).contiguous()
    torch.manual_seed(0)
    device = MultiCrop(_cfg("augment.photometric=device"))
    def off(c):  # largest change of colour (bicubic resampling of a flat image: +-1 at most)
        return (c.int() - flat[:, :1, :1].int()).abs().max().item()
    assert all(off(c) <= 1 for _ in range(5) for c in device(flat))   # colour untouched
    loader = MultiCrop(_cfg())
    changed = [off(c) > 1 for _ in range(5) for c in loader(flat)]
    assert np.mean(changed) > 0.5
