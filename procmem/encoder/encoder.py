"""`Encoder`: an exported DINO backbone that turns images into unit vectors (contract 5).

`Encoder.load(name)` reads `<name>.safetensors` + `<name>.json` written by
`procmem pretrain export`; `Encoder.random(arch, img_size, seed)` is the untrained baseline;
`procmem.encoder.spec.make_encoder(spec)` is the one grammar that names either on a command line.
Preprocessing is part of the encoder: images are resized to the training global-crop size
(bicubic, antialiased) and normalised with the training mean/std, so callers pass raw pixels.
`embed` returns the teacher's CLS feature, L2-normalised (as dino's eval_knn.py uses it), or
the read-out the export's `readout` names (procmem.encoder.readout).
Encoders from other sources (timm, dino, MoCo checkpoints: procmem.encoder.foreign) carry
their own convention as `meta["preprocess"]` (procmem.encoder.preprocess), e.g. dino's
resize 256 and centre crop 224.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from procmem.core.hashing import sha256_bytes, sha256_file
from procmem.encoder.backbone import create_backbone, patch_size_of
from procmem.encoder.errors import EncoderError
from procmem.encoder.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    check_preprocess,
    normalize,
    resize_and_crop,
    square_resize,
    to_chw_uint8,
)
from procmem.encoder.readout import (
    check_readout,
    feature_map,
    fingerprint_suffix,
    read_out,
    readout_dim,
)


def encoder_files(name: str | Path) -> tuple[Path, Path]:
    """`<name>.safetensors` and `<name>.json` (name may carry either suffix)."""
    p = Path(name)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def pick_device(device: str | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Encoder:
    """A frozen backbone plus its preprocessing; `embed` and `patch_features` take raw images."""

    def __init__(self, model: torch.nn.Module, meta: dict, fingerprint: str,
                 device: str | None = None, batch_size: int = 64, name: str | None = None):
        self.name = name or default_name(fingerprint, meta)
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.meta = meta
        self.fingerprint = fingerprint
        self.batch_size = batch_size
        self.preprocessing = preprocessing_of(meta)
        self.image_size = int(self.preprocessing["crop"])
        self.patch_size = int(meta["patch_size"])
        try:
            self.readout = check_readout(meta.get("readout", "cls"))
        except ValueError as e:
            raise EncoderError(f"encoder {self.name}: {e}") from None
        self.dim = readout_dim(meta["embed_dim"], self.readout)
        self.mean = list(self.preprocessing["mean"])
        self.std = list(self.preprocessing["std"])
        # patch grids may be read at a larger size than the embedding (a stride-32 convnet
        # at 64 px has a 2x2 grid); procmem's own square resize only
        self.patch_image_size = int(meta.get("patch_image_size") or self.image_size)
        self.patch_preprocessing = (self.preprocessing if self.patch_image_size == self.image_size
                                    or meta.get("preprocess") is not None else
                                    square_resize(self.patch_image_size, self.mean, self.std))

    @staticmethod
    def describe(model: torch.nn.Module, arch: str, timm_kwargs: dict, image_size: int,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD, readout: str = "cls",
                 patch_image_size: int = 0, **extra) -> dict:
        """The JSON half of an export: enough to rebuild the model, its preprocessing and its
        read-outs (`readout` and `patch_image_size` are written only when not the default:
        `cls`, and patch grids read at `image_size`)."""
        meta = {"arch": arch, "timm_kwargs": dict(timm_kwargs), "image_size": int(image_size),
                "patch_size": patch_size_of(model), "embed_dim": int(model.num_features),
                "mean": list(mean), "std": list(std), **extra}
        if check_readout(readout) != "cls":
            meta["readout"] = readout
        if patch_image_size and int(patch_image_size) != int(image_size):
            meta["patch_image_size"] = int(patch_image_size)
        return meta

    @classmethod
    def load(cls, name: str | Path, device: str | None = None, batch_size: int = 64,
             display_name: str | None = None) -> "Encoder":
        from safetensors.torch import load_file

        weights, meta_path = encoder_files(name)
        for f in (weights, meta_path):
            if not f.is_file():
                raise EncoderError(f"encoder file {f} is missing; write it with "
                                   "`procmem pretrain export RUN --out NAME`")
        try:
            meta = json.loads(meta_path.read_text())
            arch, kwargs = meta["arch"], meta["timm_kwargs"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise EncoderError(f"encoder description {meta_path} is damaged ({e!r}); "
                               "export the run again") from None
        try:
            state = load_file(str(weights))
        except Exception as e:  # safetensors raises its own error types for bad headers
            raise EncoderError(f"encoder weights {weights} cannot be read ({e}); "
                               "export the run again") from None
        model = create_backbone(arch, drop_path_rate=0.0, **kwargs)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise EncoderError(f"encoder weights {weights} do not fit {arch} {kwargs}: "
                               f"missing {missing[:5]}, unexpected {unexpected[:5]}")
        try:  # the same weights read out another way are another encoder (memories, caches)
            fingerprint = sha256_file(weights) + fingerprint_suffix(meta.get("readout", "cls"))
        except ValueError as e:
            raise EncoderError(f"encoder description {meta_path}: {e}") from None
        return cls(model, meta, fingerprint, device, batch_size,
                   name=display_name or f"procmem-{weights.with_suffix('').name}")

    @classmethod
    def random(cls, arch: str, img_size: int, seed: int = 0, device: str | None = None,
               display_name: str | None = None, preprocess: dict | None = None,
               readout: str = "cls", patch_image_size: int = 0, **timm_kwargs) -> "Encoder":
        """An untrained backbone (timm's init under `seed`): the baseline every result beats.

        `preprocess` (a foreign export's own, procmem.encoder.preprocess) replaces the square
        resize to `img_size` and joins the fingerprint, as a read-out other than `cls` does; a
        CNN ignores `img_size` for its build.
        """
        kwargs = {"img_size": img_size, **timm_kwargs}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = create_backbone(arch, drop_path_rate=0.0, optional=("img_size",), **kwargs)
        extra_meta = {"preprocess": check_preprocess(dict(preprocess))} if preprocess else {}
        meta = cls.describe(model, arch, model.procmem_kwargs, img_size, seed=seed,
                            readout=readout, patch_image_size=patch_image_size, **extra_meta)
        # Extra timm kwargs (e.g. patch_size=8) change the model, so they enter the fingerprint.
        extra = "".join(f":{k}={timm_kwargs[k]}" for k in sorted(timm_kwargs))
        if preprocess:
            extra += ":preprocess=" + sha256_bytes(json.dumps(meta["preprocess"], sort_keys=True)
                                                   .encode())[:12]
        extra += fingerprint_suffix(readout)  # a patch_image_size is not (caches name it)
        return cls(model, meta, f"random:{arch}:{img_size}:{seed}{extra}", device,
                   name=display_name)

    def preprocess(self, images, preprocessing: dict | None = None) -> torch.Tensor:
        """Images -> float32 [N, 3, S, S] on the encoder's device: resized, centre-cropped and
        normalised as `preprocessing` (default `self.preprocessing`) says."""
        tensors = []
        for i, img in enumerate(_as_list(images)):
            try:
                t = to_chw_uint8(img)
            except (ValueError, TypeError, AttributeError) as e:
                raise EncoderError(f"image {i} cannot be embedded ({e}); give PIL images or a "
                                   "uint8 array [N, H, W, 3] or [N, H, W]") from None
            tensors.append(resize_and_crop(t, preprocessing or self.preprocessing))
        if not tensors:
            raise EncoderError("no images given to embed")
        return normalize(torch.stack(tensors).to(self.device), self.mean, self.std)

    @torch.inference_mode()
    def embed(self, images) -> np.ndarray:
        """float32 [N, dim], each row L2-normalised (the CLS feature, or `self.readout`'s)."""
        out = []
        for batch in _batches(images, self.batch_size):
            f = read_out(self.model, self.preprocess(batch), self.readout).float()
            out.append(torch.nn.functional.normalize(f, dim=-1).cpu())
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def patch_features(self, images) -> np.ndarray:
        """float32 [N, h, w, D]: the final-layer patch tokens, or a convolutional network's last
        feature map, of the images resized to `patch_image_size` (h = w = that / patch)."""
        if not hasattr(self.model, "forward_features"):
            raise EncoderError(f"{self.meta['arch']} has no patch tokens")
        out = []
        for batch in _batches(images, self.batch_size):
            x = self.preprocess(batch, self.patch_preprocessing)
            grid = feature_map(self.model, self.model.forward_features(x).float())
            out.append(grid.permute(0, 2, 3, 1).cpu())
        return torch.cat(out).numpy()


def preprocessing_of(meta: dict) -> dict:
    """The encoder's preprocessing: `meta["preprocess"]` when given (foreign encoders), else
    procmem's own (the whole image resized to `image_size`, bicubic, the training mean/std)."""
    if meta.get("preprocess") is not None:
        return check_preprocess(dict(meta["preprocess"]))
    return square_resize(meta["image_size"], meta.get("mean", IMAGENET_MEAN),
                         meta.get("std", IMAGENET_STD))


def default_name(fingerprint: str, meta: dict) -> str:
    """A short display name made from the fingerprint (random init) or the architecture."""
    if fingerprint.startswith("random:"):
        return "random-" + fingerprint.split(":", 1)[1].replace(":", "-")
    return f"procmem-{meta.get('arch', 'encoder')}-{fingerprint[:8]}"


def _as_list(images) -> Sequence:
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise EncoderError(f"image array must be uint8 [N, H, W, 3] or [N, H, W], got "
                               f"{images.dtype} {list(images.shape)}")
        if images.ndim == 4 and images.shape[-1] not in (1, 3):
            raise EncoderError(f"image array has {images.shape[-1]} channels; give 1 or 3")
        return list(images)
    if isinstance(images, (list, tuple)):
        return images
    raise EncoderError(f"cannot embed a {type(images).__name__}; give a list of PIL images "
                       "or a uint8 array [N, H, W, 3]")


def _batches(images, size: int):
    items = _as_list(images)
    for i in range(0, len(items), size):
        yield items[i:i + size]
