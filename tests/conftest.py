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
