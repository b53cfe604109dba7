"""The pipelines' tests use eval's data fixtures and its one-thread torch setting."""

from tests.eval.conftest import camvid_like, nights_like, one_torch_thread  # noqa: F401
