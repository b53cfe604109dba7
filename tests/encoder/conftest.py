"""The encoder tests run torch on one thread, as eval's do (tests/eval/conftest.py), and share
checkpoints written in dino's and MoCo's own layouts (tests/encoder/checkpoints.py)."""

import pytest
import torch

from tests.encoder.checkpoints import dino_checkpoint, moco_checkpoint, timm_model
from tests.eval.conftest import one_torch_thread  # noqa: F401


@pytest.fixture(scope="session")
def dino(tmp_path_factory):
    """A dino checkpoint.pth of a ViT-Ti/16: teacher and student differ."""
    root = tmp_path_factory.mktemp("dino")
    teacher, student = timm_model("vit_tiny_patch16_224", 1), timm_model("vit_tiny_patch16_224", 2)
    torch.save(dino_checkpoint(teacher, student), root / "checkpoint.pth")
    return root / "checkpoint.pth", teacher, student


@pytest.fixture(scope="session")
def moco(tmp_path_factory):
    """shaders21k-style MoCo v2 checkpoint_0199.pth.tar of a ResNet-18, and the same weights in
    MoCo v3's layout."""
    root = tmp_path_factory.mktemp("moco")
    query, key = timm_model("resnet18", 3), timm_model("resnet18", 4)
    torch.save(moco_checkpoint(query, key, 2), root / "checkpoint_0199.pth.tar")
    torch.save(moco_checkpoint(query, key, 3), root / "v3.pth.tar")
    return root, query
