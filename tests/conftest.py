"""Fixtures shared by every test directory."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def renderer():
    """One real EGL renderer (64 px) for the whole session: compiling costs ~150 ms a program."""
    from procmem.generators.render import Renderer

    r = Renderer(size=64)
    yield r
    r.close()


@pytest.fixture(scope="session")
def random_vit():
    """A tiny random timm ViT (32 px) as an `Encoder`, through the one spec grammar."""
    from procmem.encoder.spec import make_encoder

    return make_encoder("random:vit_tiny_patch16_224:32:0")
