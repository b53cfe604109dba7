"""The fault tests use the pretrain tests' tiny shard set."""

from tests.pretrain.conftest import tiny_shards  # noqa: F401
