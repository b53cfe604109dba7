"""Fixtures for eval tests: small real data shipped with dependencies, written in the loaders' formats."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from procmem.core.atomic import atomic_write_bytes


def write_npz(path, **arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return path


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory):
    """sklearn digits (8x8 grey, 10 classes) as a MedMNIST-style .npz: 400 train, 100 test."""
    from procmem.eval.datasets import sklearn_digits

    x, y = sklearn_digits()
    y = y.astype(np.uint8)[:, None]
    idx = np.random.default_rng(0).permutation(len(y))
    tr, va, te = idx[:400], idx[400:450], idx[450:550]
    return write_npz(tmp_path_factory.mktemp("digits") / "digits.npz",
                     train_images=x[tr], train_labels=y[tr], val_images=x[va], val_labels=y[va],
                     test_images=x[te], test_labels=y[te])


@pytest.fixture(scope="session")
def digits(digits_npz):
    from procmem.eval.catalogue import load_classification

    return load_classification(str(digits_npz))


def region_images(n: int, size: int = 32, seed: int = 0):
    """Synthetic segmentation data: each image is coloured regions, its mask the region labels.

    Three classes with fixed colours (plus a void border stripe labelled 11) laid out as random
    horizontal/vertical splits, with a little noise: a label map that colour explains exactly.
    """
    rng = np.random.default_rng(seed)
    colours = np.array([[220, 30, 30], [30, 200, 40], [40, 40, 220]], np.uint8)
    images, masks = [], []
    for _ in range(n):
        m = np.zeros((size, size), np.int64)
        a, b = rng.integers(size // 4, 3 * size // 4, 2)
        m[:, a:] = 1
        m[b:, :] = 2
        m[:, :2] = 11
        img = colours[np.where(m == 11, 0, m)].astype(np.int16)
        img = np.where((m == 11)[..., None], 128, img)
        img = np.clip(img + rng.integers(-10, 10, img.shape), 0, 255).astype(np.uint8)
        images.append(img)
        masks.append(m)
    return np.stack(images), np.stack(masks)


@pytest.fixture(scope="session")
def camvid_like(tmp_path_factory):
    """A CamVid-layout folder (val/, valannot/) of 8 synthetic region images (classes 0..2,
    void 11: pass --num-classes 3 --void 11)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("camvid")
    (root / "val").mkdir()
    (root / "valannot").mkdir()
    images, masks = region_images(8)
    for i, (im, m) in enumerate(zip(images, masks)):
        Image.fromarray(im).save(root / "val" / f"f{i:03d}.png")
        Image.fromarray(m.astype(np.uint8)).save(root / "valannot" / f"f{i:03d}.png")
    return root


@pytest.fixture(scope="session")
def nights_like(tmp_path_factory):
    """A NIGHTS-layout folder: triplets.csv + images; left is a copy of ref, right is noise."""
    from PIL import Image

    root = tmp_path_factory.mktemp("nights")
    (root / "ref").mkdir()
    (root / "distort").mkdir()
    rng = np.random.default_rng(1)
    lines = ["id,left_vote,right_vote,votes,ref_path,left_path,right_path,split,is_imagenet,prompt"]
    for i in range(6):
        ref = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
        noise = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(ref).save(root / "ref" / f"{i}.png")
        Image.fromarray(ref).save(root / "distort" / f"{i}_0.png")
        Image.fromarray(noise).save(root / "distort" / f"{i}_1.png")
        lv, rv = [(1, 0), (1, 0), (1, 0), (0, 1), (1, 1), (1, 0)][i]
        lines.append(f"{i},{lv},{rv},5,ref/{i}.png,distort/{i}_0.png,distort/{i}_1.png,"
                     f"{'test' if i < 4 else 'val'},True,thing")
    (root / "triplets.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def regions():
    """8 synthetic region images (32x32) and their masks (classes 0..2, void 11)."""
    return region_images(8)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """torch's default two threads spin against six other jobs on two cores (15x slower
    here); eval's tests run torch on one thread and restore the setting afterwards."""
    torch = sys.modules.get("torch")
    old = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(1)
    yield
    if torch and old is not None:
        torch.set_num_threads(old)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory, digits_npz, camvid_like):
    """A data root with sets known only by folder name: `digits/digits.npz` (with class
    names), `faces` (an ImageFolder of wnid folders from scikit-image's lfw_subset, named by
    a synset table beside them) and `regions` (image/label-map pairs, void 11)."""
    import shutil

    from PIL import Image
    from skimage import data

    root = tmp_path_factory.mktemp("data")
    (root / "digits").mkdir()
    with np.load(digits_npz) as z:
        arrays = {k: z[k] for k in z.files}
    write_npz(root / "digits" / "digits.npz", **arrays,
              class_names=np.array(["zero", "one", "two", "three", "four", "five", "six",
                                    "seven", "eight", "nine"]))
    faces = data.lfw_subset()  # 100 faces then 100 non-faces, 25x25 float
    for wnid, block in (("n00000001", faces[:16]), ("n00000002", faces[100:116])):
        (root / "faces" / wnid).mkdir(parents=True)
        for i, im in enumerate(block):
            Image.fromarray((im * 255).astype(np.uint8)).save(root / "faces" / wnid / f"{i:02d}.png")
    (root / "faces" / "words.txt").write_text("n00000001\tface, human face\nn00000002\tnot a face\n")
    shutil.copytree(camvid_like, root / "regions")
    return root


@pytest.fixture(scope="session")
def learned_export(tmp_path_factory):
    """A procmem export (safetensors + json) whose weights are a slightly moved random init of
    vit_tiny_patch16_224 at 32 px, seed 0: a 'learned' encoder for role and pairing tests."""
    import json

    import torch
    from safetensors.torch import save_file

    from procmem.encoder.encoder import Encoder

    enc = Encoder.random("vit_tiny_patch16_224", 32, 0)
    g = torch.Generator().manual_seed(1)
    state = {k: (v + 0.02 * torch.randn(v.shape, generator=g) if v.is_floating_point() else v)
             .contiguous() for k, v in enc.model.state_dict().items()}
    name = tmp_path_factory.mktemp("enc") / "mine"
    save_file(state, f"{name}.safetensors")
    (name.parent / "mine.json").write_text(json.dumps(enc.meta))
    return f"procmem:{name}"
