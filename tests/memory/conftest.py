"""Small real memories (SQLite + FAISS on disk) for the memory tests."""

from __future__ import annotations

import numpy as np
import pytest


def unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def colour_folder(root, size: int = 32, noise: float = 20.0):
    """An ImageFolder of 2 classes x 6 noisy images (reddish class0, bluish class1) at `root`."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, colour in enumerate([(220, 30, 30), (30, 30, 220)]):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(6):
            img = np.clip(np.array(colour) + rng.normal(0, noise, (size, size, 3)), 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(root / f"class{c}" / f"{i}.png")
    return root


@pytest.fixture
def blobs():
    """Three well-separated Gaussian classes in 16-d, 60 items each (+ 30 held-out queries)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 3
    y = np.repeat(np.arange(3), 70)
    x = unit(centres[y] + rng.normal(size=(len(y), 16)))
    test = np.zeros(len(y), bool)
    test[np.arange(len(y)) % 7 == 0] = True
    return x[~test], y[~test], x[test], y[test]


@pytest.fixture(autouse=True, scope="session")
def _faiss_one_thread():
    """FAISS's OpenMP threads spin-wait; on a shared 2-core machine one thread is 5-10x faster."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)
