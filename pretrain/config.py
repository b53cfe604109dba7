"""DINO run configuration: built-in defaults <- preset YAML <- `key=value` overrides.

The defaults are facebookresearch/dino's `main_dino.py` defaults for ViT-S/16 (Caron et al.
2021, App. A), so a run with no preset reproduces the paper's recipe. A preset is a YAML file
(a name in `pretrain/presets/` or a path) holding only what it changes; overrides are dotted
keys (`optim.lr=1e-3`) parsed to the type of the default they replace. The merged result is
saved beside the run (`config.yaml`), so every run says how it was made (dinov2's practice).
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml

from procmem.core.errors import ProcmemError
from procmem.encoder.readout import READOUTS  # model.readout

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
AUGMENT_BACKENDS = ("pil", "tensor")  # pretrain.augment.MultiCrop's two implementations
CENTERINGS = ("center", "sinkhorn")   # pretrain.loss.DINOLoss's teacher targets
OPTIMIZERS = ("adamw", "sgd")         # pretrain.train.make_optimizer
PHOTOMETRIC_PLACES = ("loader", "device")  # where the colour augmentations run
PROCESS_PLACES = ("loader", "device")  # data.process_on: where a stream's images are composed
CPU_PRECISIONS = ("fp32", "bf16", "auto")  # run.cpu_precision (pretrain.runtime)

DEFAULTS: dict[str, Any] = {
    "model": {
        # timm name; created with pretrained=False, num_classes=0, dynamic_img_size=True.
        "arch": "vit_small_patch16_224",
        # extra timm kwargs, e.g. {patch_size: 8, img_size: 64, depth: 6}
        "timm_kwargs": {},
        "drop_path_rate": 0.1,          # student only; the teacher has none
        "out_dim": 65536,               # K in the paper
        "hidden_dim": 2048,
        "bottleneck_dim": 256,
        "head_layers": 3,
        "norm_last_layer": True,        # weight_g fixed to 1: stabler (dino README)
        "head_bn": False,               # BatchNorm in the head's MLP (dino --use_bn_in_head)
        # the exported encoder's vector: cls (the papers'), grid2 or grid4 (pooled + a 2x2 or
        # 4x4 grid of the last feature map; procmem.encoder.readout). Changes no training step, only what
        # the online probe and the export read.
        "readout": "cls",
        # the size patch grids are read at (eval segment); 0: crops.global_size. A stride-32
        # convnet at 64 px gives 2x2 cells, too few for PCA-R^2: 256 gives 8x8
        "patch_image_size": 0,
    },
    "crops": {
        "global_size": 224,
        "global_scale": [0.4, 1.0],
        "local_number": 8,
        "local_size": 96,
        "local_scale": [0.05, 0.4],
    },
    "augment": {
        "flip_p": 0.5,
        "jitter": [0.4, 0.4, 0.2, 0.1],     # brightness, contrast, saturation, hue
        "jitter_p": 0.8,
        "grey_p": 0.2,
        "blur_p": [1.0, 0.1, 0.5],          # global 1, global 2, locals
        "blur_sigma": [0.1, 2.0],           # pixels, as PIL's radius in dino's utils.GaussianBlur
        "backend": "pil",                   # pil (dino's, faster) or tensor (uint8 tensors)
        # where jitter / grey / blur / solarise run: loader (dino's: CPU workers) or device
        # (pretrain.photometric, batched on the GPU; frees ~60% of a worker's time)
        "photometric": "loader",
        "solarize_p": 0.2,                  # second global view only
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
    },
    "loss": {
        "student_temp": 0.1,
        "warmup_teacher_temp": 0.04,
        "teacher_temp": 0.04,
        "warmup_teacher_temp_epochs": 0,
        "center_momentum": 0.9,
        # Departures from DINO, from DINOv2 (off by default): teacher targets by Sinkhorn-Knopp
        # instead of the centre, and the KoLeo spreading term on the student's CLS features.
        "centering": "center",          # center (DINO) | sinkhorn (DINOv2)
        "koleo_weight": 0.0,            # 0: DINO; DINOv2 uses 0.1
    },
    "optim": {
        "batch_size": 512,              # global (all processes); lr scales with it
        "lr": 0.0005,                   # per 256 images: lr = lr * batch_size / 256
        "min_lr": 1e-6,
        "warmup_epochs": 10,
        "weight_decay": 0.04,
        "weight_decay_end": 0.4,
        "clip_grad": 3.0,               # per-parameter norm; 0 disables
        "freeze_last_layer": 1,         # epochs with the head's last layer frozen
        "momentum_teacher": 0.996,
        "momentum_teacher_end": 1.0,
        # adamw (dino's default, for ViTs) | sgd (momentum 0.9; dino's ResNet-50 recipe uses
        # it with lr 0.03 per 256 and weight decay 1e-4)
        "optimizer": "adamw",
    },
    "schedule": {
        "epochs": 100,
        "steps_per_epoch": 2502,        # ImageNet-1k (1,281,167 images) / 512
        "max_steps": 0,                 # stop early at this step (0: run all epochs)
    },
    "data": {
        "workers": 10,
        "shuffle_buffer": 1000,
        "prefetch_factor": 2,
        "max_bad_samples": 1000,        # unreadable samples in a row that stop the run; 0: never
        # --data stream:<process> only: render at this size (both papers render 256 px),
        # a frame pool of this many frames per draw (KML textures come from the pool)
        "stream_res": 256,
        "stream_pool": 256,
        # stream only: loader (the workers compose and crop, the papers' numpy path) or device
        # (workers render and draw; K-means, compositing, mixup and crops run batched on the
        # training device: pretrain.device_data; needs augment.photometric=device)
        "process_on": "loader",
    },
    "run": {
        "seed": 0,
        # cuda: a GPU recipe, refused without a GPU (--allow-cpu runs it anyway); cpu; auto:
        # either. The defaults are the paper's ViT-S/16 recipe (batch 512), so: cuda.
        "device": "cuda",
        "bf16": True,                   # bf16 autocast on CUDA
        # a CPU step's precision: fp32 (dino's), bf16 (autocast), or auto: bf16 where the CPU
        # has AMX bf16 units (2.19x dino's fp32 step for tiny-cpu's network), else fp32
        "cpu_precision": "fp32",
        "checkpoint_every": 1000,
        "log_every": 10,
        "threads": 0,                   # torch CPU threads; 0: the cores idle at the start
                                        # (affinity less load average), shared by the node's ranks
        # torch.compile backend for both backbones ("" = eager, dino's; "inductor" on GPUs)
        "compile": "",
    },
    "probe": {
        "data": "",                     # ImageFolder of real images (evaluation only)
        "every": 0,                     # steps between probes; 0: never
        "k": 20,
        "temperature": 0.07,            # dino eval_knn.py's T
        "per_class": 50,                # images per class read from the folder
        "query_fraction": 0.5,
    },
}


class ConfigError(ProcmemError):
    """A preset or override that does not fit the configuration."""


def preset_path(name_or_path: str) -> Path:
    """A preset file: a path, or a name in pretrain/presets/ (with or without .yaml)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    q = PRESETS_DIR / f"{name_or_path}.yaml"
    if q.is_file():
        return q
    names = sorted(x.stem for x in PRESETS_DIR.glob("*.yaml"))
    raise ConfigError(f"preset {name_or_path!r} not found: give a YAML path or one of {names}")


def load_config(preset: str | None = None, overrides: list[str] = ()) -> dict:
    """Merge defaults, the preset (if any) and `key=value` overrides; check every key."""
    cfg = copy.deepcopy(DEFAULTS)
    if preset:
        path = preset_path(preset)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"preset {path} is not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"preset {path} must be a mapping of sections, got {type(data).__name__}")
        _merge(cfg, data, str(path), "")
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} must look like section.key=value (e.g. optim.lr=1e-3)")
        set_key(cfg, key.strip(), parse_value(text.strip()), f"override {item!r}")
    validate(cfg)
    return cfg


def with_defaults(saved: dict) -> dict:
    """A saved config with every key it lacks (added to DEFAULTS since) at its default."""
    def fill(defaults: dict, node: dict) -> dict:
        out = dict(node)
        for k, v in defaults.items():
            if k not in out:
                out[k] = copy.deepcopy(v)
            elif isinstance(v, dict) and isinstance(out[k], dict) and k != "timm_kwargs":
                out[k] = fill(v, out[k])
        return out
    return fill(DEFAULTS, saved)


def parse_value(text: str) -> Any:
    """Typed value of an override: int, float (including 1e-3), bool, list, or string."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def set_key(cfg: dict, dotted: str, value: Any, origin: str) -> None:
    """Set `section.key` (or deeper for free-form dicts such as model.timm_kwargs)."""
    parts = dotted.split(".")
    node = cfg
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            _unknown(node, part, ".".join(parts[: i + 1]), origin)
        node = node[part]
    last = parts[-1]
    free_form = len(parts) >= 3 and parts[-2] == "timm_kwargs"
    if not free_form and last not in node:
        _unknown(node, last, dotted, origin)
    node[last] = value if free_form else _coerce(node[last], value, dotted, origin)


def _merge(cfg: dict, data: dict, origin: str, prefix: str) -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in cfg:
            _unknown(cfg, key, dotted, origin)
        if isinstance(cfg[key], dict) and key != "timm_kwargs":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: {dotted} must be a mapping")
            _merge(cfg[key], value, origin, dotted + ".")
        else:
            cfg[key] = _coerce(cfg[key], value, dotted, origin)


def _coerce(default: Any, value: Any, key: str, origin: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, list):
        if isinstance(value, list) and len(value) == len(default):
            return [_coerce(d, v, key, origin) for d, v in zip(default, value)]
    elif isinstance(default, dict):
        if isinstance(value, dict):
            return value
    elif isinstance(default, str):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    else:
        return value
    raise ConfigError(f"{origin}: {key} must be a {type(default).__name__} like {default!r}, "
                      f"got {value!r}")


def _unknown(node: Any, key: str, dotted: str, origin: str) -> None:
    choices = list(node) if isinstance(node, dict) else []
    close = difflib.get_close_matches(key, choices, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(choices)}"
    raise ConfigError(f"{origin}: unknown config key {dotted!r}{hint}")


def validate(cfg: dict) -> None:
    """Values that would fail later, reported now with the fix."""
    checks = [
        (cfg["optim"]["batch_size"] >= 1, "optim.batch_size must be >= 1"),
        (cfg["schedule"]["epochs"] >= 1, "schedule.epochs must be >= 1"),
        (cfg["schedule"]["steps_per_epoch"] >= 1, "schedule.steps_per_epoch must be >= 1"),
        (cfg["crops"]["local_number"] >= 0, "crops.local_number must be >= 0"),
        (cfg["loss"]["warmup_teacher_temp_epochs"] <= cfg["schedule"]["epochs"],
         "loss.warmup_teacher_temp_epochs must not exceed schedule.epochs"),
        (cfg["optim"]["warmup_epochs"] <= cfg["schedule"]["epochs"],
         "optim.warmup_epochs must not exceed schedule.epochs"),
        (cfg["run"]["device"] in ("auto", "cpu", "cuda"), "run.device must be auto, cpu or cuda"),
        (cfg["augment"]["backend"] in AUGMENT_BACKENDS,
         f"augment.backend must be {' or '.join(AUGMENT_BACKENDS)}"),
        (0 < cfg["probe"]["query_fraction"] < 1, "probe.query_fraction must be in (0, 1)"),
        (cfg["augment"]["photometric"] in PHOTOMETRIC_PLACES,
         f"augment.photometric must be {' or '.join(PHOTOMETRIC_PLACES)}"),
        (cfg["loss"]["centering"] in CENTERINGS, f"loss.centering must be {' or '.join(CENTERINGS)}"),
        (cfg["optim"]["optimizer"] in OPTIMIZERS, f"optim.optimizer must be {' or '.join(OPTIMIZERS)}"),
        (cfg["run"]["cpu_precision"] in CPU_PRECISIONS,
         f"run.cpu_precision must be {', '.join(CPU_PRECISIONS[:-1])} or {CPU_PRECISIONS[-1]}"),
        (cfg["model"]["readout"] in READOUTS,
         f"model.readout must be {' or '.join(READOUTS)}"),
        (cfg["model"]["patch_image_size"] >= 0,
         "model.patch_image_size must be >= 0 (0: crops.global_size)"),
        (cfg["run"]["threads"] >= 0, "run.threads must be >= 0 (0: the cores idle at the start)"),
        (cfg["loss"]["koleo_weight"] >= 0, "loss.koleo_weight must be >= 0 (0 turns KoLeo off)"),
    ]
    if cfg["data"]["process_on"] not in PROCESS_PLACES:
        checks.append((False, f"data.process_on={cfg['data']['process_on']!r} must be "
                              f"{' or '.join(PROCESS_PLACES)}"))
    checks.append((cfg["data"]["process_on"] != "device" or cfg["augment"]["photometric"] == "device",
                   "data.process_on=device makes the crops on the training device, where the "
                   "colour augmentations follow them: add augment.photometric=device"))
    for lo, hi in (cfg["crops"]["global_scale"], cfg["crops"]["local_scale"]):
        checks.append((0 < lo <= hi <= 1, "crop scales must satisfy 0 < min <= max <= 1"))
    for ok, msg in checks:
        if not ok:
            raise ConfigError(msg)


def total_steps(cfg: dict) -> int:
    """Steps the run will take: all epochs, or schedule.max_steps if smaller and set."""
    full = cfg["schedule"]["epochs"] * cfg["schedule"]["steps_per_epoch"]
    m = cfg["schedule"]["max_steps"]
    return min(full, m) if m > 0 else full


def dump(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=False)
