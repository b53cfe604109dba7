"""The encoder tests run torch on one thread, as eval's do (tests/eval/conftest.py)."""

from tests.eval.conftest import one_torch_thread  # noqa: F401
