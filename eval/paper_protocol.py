"""The paper's evaluation protocol (Rodriguez-Munoz et al. 2025), as its code runs it.

kNN: dino's eval_knn.py as the authors ran it (github.com/adriarm/separating_knowledge,
dino/eval_knn.py and dino/scripts/evals/*.sh): teacher weights; Resize(256) bicubic on the
shorter side, CenterCrop(224), ImageNet mean/std; cosine similarity, top-k neighbours each
voting exp(sim / 0.07) (memory.voting's softmax rule); k in {10, 20, 100, 200} (ImageNet,
CUB, Food) or {1, 2, 3, 4, 5, 10, 20, 100, 200} (the Flowers102 and MedMNIST scripts); the
figure reported is the best top-1 over those k (best_acc.txt): chosen on the queries, so an
optimistic one, and labelled so.

COCO zero-shot R^2 (notebooks_figures/figures_segmentation_zeroshot.ipynb): the image squashed
to 448 x 448, ViT-S/16 patch tokens (28 x 28) upsampled bilinearly to 112 x 112; per image a
3-component PCA of those tokens, each component scaled to [0, 1]; the label map (COCO category
ids, 112 x 112 nearest) relabelled by rank and its lowest label dropped ("background
elimination"); inertia = within-label sum of squares / sum of squares about the scalar mean of
all entries; R^2 = 1 - mean inertia over images. This is not procmem's zero-shot R^2
(eval/segmentation.py fits labels from features), so the paper's tables are read beside this one.
"""

from __future__ import annotations

import numpy as np

KS = (10, 20, 100, 200)
LONG_KS = (1, 2, 3, 4, 5, 10, 20, 100, 200)
LONG_KS_SETS = ("flowers102", "medmnist")
TEMPERATURE = 0.07
RESIZE, CROP = 256, 224
COCO_SIDE, COCO_GRID = 448, 112


def ks_for(dataset: str) -> tuple[int, ...]:
    """The k sweep of the authors' script for this set."""
    return LONG_KS if any(s in dataset.lower() for s in LONG_KS_SETS) else KS


def knn_preprocess() -> dict:
    from procmem.encoder.preprocess import resize_centre_crop

    return resize_centre_crop(RESIZE, CROP, "bicubic")


def coco_preprocess() -> dict:
    from procmem.encoder.preprocess import IMAGENET_MEAN, IMAGENET_STD

    return {"resize": COCO_SIDE, "resize_mode": "square", "interpolation": "bilinear",
            "crop": COCO_SIDE, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}


def with_protocol(encoder, preprocess: dict, name: str = "paper"):
    """`encoder` fed as the paper's code feeds it (its preprocessing replaced; the protocol
    joins its feature-cache key and its stored results); raw pixels are left as they are."""
    if not hasattr(encoder, "preprocessing"):
        return encoder
    encoder.preprocessing = dict(preprocess)
    encoder.image_size = int(preprocess["crop"])
    encoder.mean, encoder.std = list(preprocess["mean"]), list(preprocess["std"])
    encoder.protocol = name
    return encoder


def load_transform(im):
    """What the loader does for the paper's kNN: PIL bicubic resize of the shorter side to 256
    and the centre 256 x 256 (the encoder then crops the centre 224, dino's exact transform,
    since its resize is then the identity)."""
    from PIL import Image

    w, h = im.size
    s = RESIZE / min(w, h)
    im = im.resize((max(RESIZE, round(w * s)), max(RESIZE, round(h * s))), Image.BICUBIC)
    w, h = im.size
    left, top = round((w - RESIZE) / 2), round((h - RESIZE) / 2)
    return im.crop((left, top, left + RESIZE, top + RESIZE))


def coco_load(im):
    """The notebook's image: squashed to 448 x 448 (bilinear)."""
    from PIL import Image

    return im.resize((COCO_SIDE, COCO_SIDE), Image.BILINEAR)


def _pca3_unit(tokens: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    z = PCA(n_components=3, random_state=0).fit_transform(tokens)
    lo, hi = z.min(0, keepdims=True), z.max(0, keepdims=True)
    return (z - lo) / np.where(hi > lo, hi - lo, 1.0)


def paper_inertia(tokens: np.ndarray, mask: np.ndarray) -> float:
    """One image's normalised inertia (module docstring); tokens [112, 112, D], mask [112, 112]."""
    x = _pca3_unit(tokens.reshape(-1, tokens.shape[-1]).astype(np.float64))
    _, m = np.unique(np.asarray(mask).ravel(), return_inverse=True)
    x, m = x[m > 0], m[m > 0]
    if not len(x):
        return float("nan")
    within = sum(float(np.sum((x[m == k] - x[m == k].mean(0)) ** 2)) for k in np.unique(m))
    total = float(np.sum((x - x.mean()) ** 2))
    return within / total if total > 0 else float("nan")


def upsample(patch_feats: np.ndarray, side: int = COCO_GRID) -> np.ndarray:
    """[N, h, w, D] -> [N, side, side, D], bilinear (torch, as torchvision's Resize)."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(patch_feats)).permute(0, 3, 1, 2).float()
    t = torch.nn.functional.interpolate(t, size=(side, side), mode="bilinear", align_corners=False)
    return t.permute(0, 2, 3, 1).numpy()


def paper_r2(patch_feats: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per-image R^2 = 1 - inertia (nan where an image has no kept pixel)."""
    from PIL import Image

    out = []
    for f, m in zip(patch_feats, masks):
        m = np.asarray(Image.fromarray(np.asarray(m, np.int32)).resize((COCO_GRID, COCO_GRID),
                                                                       Image.NEAREST))
        out.append(1.0 - paper_inertia(upsample(f[None])[0], m))
    return np.array(out)

