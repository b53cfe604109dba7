"""Fixtures for the pretrain tests (tiny shard set, tiny DINO config; see tinydata.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pretrain.tinydata import TINY_OVERRIDES, write_tiny_shards


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory) -> Path:
    return write_tiny_shards(tmp_path_factory.mktemp("shards"))


@pytest.fixture
def tiny_cfg():
    from procmem.pretrain.config import load_config

    return load_config(None, TINY_OVERRIDES)
