"""`procmem pretrain export`: a run's teacher backbone as `<name>.safetensors` + `<name>.json`.

The teacher (not the student) is exported, as in dino: it is the better network throughout
training (Caron et al. 2021, Sec. 5.6). The JSON says how to rebuild and feed it and what it
learned from, so the compartment audit can check that no real image reached it. A procmem
shard set is named by its manifest's sha256 and the `procmem generate` command (and manifest
config) that remakes it from seeds, never by a local path: an export can be shipped, and the
audit is given the regenerated or copied folder with `--shards DIR` (issue 17).
"""

from __future__ import annotations

import json
import shlex
import warnings
from pathlib import Path

from procmem.core.atomic import atomic_write_bytes, atomic_write_json
from procmem.core.errors import ProcmemError
from procmem.core.hashing import sha256_file
from procmem.encoder.encoder import encoder_files
from procmem.encoder.readout import check_readout
from procmem.pretrain.checkpoint import CHECKPOINT_NAME, load_checkpoint


class ExportError(ProcmemError):
    """A run directory with nothing exportable in it."""


class ShardsGoneWarning(UserWarning):
    """The run's shard folder is gone or changed: the export names its data by hash only."""


# `procmem generate` flags of the process options in a manifest's config (procmem/cli/generate.py)
OPTION_FLAGS = {"k": "--clusters", "alpha": "--alpha", "mix": "--mix", "mask_res": "--mask-res",
                "kmeans_iters": "--kmeans-iters", "kmeans_sample": "--kmeans-sample"}


def generate_command(config: dict, out: str = "SHARDS") -> str:
    """The `procmem generate` command line that remakes a shard set from its manifest's config
    (generators.jobs.GenerateConfig.to_json): shard i is a pure function of (config, i). User
    programs are in the config itself (their full texts); the command names them USER_PROGRAMS."""
    args = ["procmem", "generate", "--process", config["process"], "--res", config["res"],
            "--images", config["num_images"], "--shard-size", config["shard_size"],
            "--seed", config["seed"], "--format", config["format"], "--quality", config["quality"],
            "--frames-per-program", config["frames_per_program"]]
    programs = config["programs"]
    if isinstance(programs, str):
        args += ["--programs", programs]
    else:
        if "user" in programs:
            args += ["--programs", "USER_PROGRAMS"]
        args += ["--program-weights", ",".join(f"{k}={v}" for k, v in programs.items())]
    for key, flag in OPTION_FLAGS.items():
        if config["options"].get(key) is not None:
            args += [flag, config["options"][key]]
    return shlex.join(str(a) for a in [*args, "--out", out])


def shipped_provenance(prov: dict) -> dict:
    """What the export says it learned from: a procmem shard set by its manifest's sha256, the
    command and config that remake it, and the folder's name (a hint, never needed); your own
    WebDataset shards by their file names and the sha256 of their `sha256sum` listing; a
    stream as the run recorded it."""
    from procmem.generators.shards import MANIFEST, read_manifest

    if prov.get("kind") == "foreign-shards":  # file names only: the sha256 covers `hash  name`
        return {**prov, "files": [Path(f).name for f in prov.get("files", [])]}
    if prov.get("kind") != "shards":
        return prov
    d = Path(prov["dir"])
    out = {"kind": "shards", "manifest_sha256": prov["manifest_sha256"], "dir_name": d.name}
    try:
        manifest = read_manifest(d) if d.is_dir() else None
        same = manifest is not None and sha256_file(d / MANIFEST) == prov["manifest_sha256"]
    except (ProcmemError, OSError):
        manifest, same = None, False
    if not same:
        warnings.warn(f"the run's shard folder {d} is gone or its {MANIFEST} changed: the export "
                      "names its data by manifest sha256 only, with no command to remake it",
                      ShardsGoneWarning, stacklevel=2)
        return {**out, "generate": None}
    try:
        command = generate_command(manifest["config"], d.name)
    except (KeyError, TypeError, AttributeError):
        command = None  # not written by `procmem generate` (a hand-made set): the config says all
    return {**out, "generate": {"command": command, "config": manifest["config"],
                                "procmem_version": manifest["procmem_version"]}}


def export_run(run_dir: str | Path, name: str | Path, readout: str | None = None,
               patch_image_size: int | None = None, fp16: bool = False) -> tuple[Path, Path]:
    """Write the teacher backbone of `run_dir`'s checkpoint; returns (weights, json) paths.

    `readout` (procmem.encoder.readout) and `patch_image_size` replace the run's
    `model.readout` and `model.patch_image_size`: they change what the encoder reads from the
    backbone, not a weight. `fp16` stores the weights as float16 (half the file, what
    procmem ships); they load into a float32 network."""
    from safetensors.torch import save

    run = Path(run_dir)
    ckpt = run / CHECKPOINT_NAME
    if not ckpt.is_file():
        raise ExportError(f"run {run} has no {CHECKPOINT_NAME}; train first with "
                          f"`procmem pretrain --preset ... --data ... --out {run}`")
    state = load_checkpoint(ckpt)
    prefix = "backbone."
    weights = {k[len(prefix):]: (v.half() if fp16 and v.is_floating_point() else v).contiguous()
               for k, v in state["teacher"].items() if k.startswith(prefix)}
    if not weights:
        raise ExportError(f"checkpoint {ckpt} holds no teacher backbone; is it a DINO run?")
    weights_path, meta_path = encoder_files(name)
    atomic_write_bytes(weights_path, save(weights))
    cfg = state["config"]
    encoder = {k: v for k, v in state["encoder"].items()
               if k not in ("readout", "patch_image_size")}
    chosen = readout or state["encoder"].get("readout", "cls")
    if check_readout(chosen) != "cls":
        encoder["readout"] = chosen
    size = state["encoder"].get("patch_image_size", 0) if patch_image_size is None else patch_image_size
    if size < 0:
        raise ExportError(f"patch image size {size} must be >= 0 (0: the training size)")
    if size and size != encoder["image_size"]:
        encoder["patch_image_size"] = int(size)
    meta = {
        **encoder,
        "source": "procmem pretrain",
        "learned_from": shipped_provenance(state["provenance"]),
        "shard_manifest_sha256": state["provenance"].get("manifest_sha256"),
        "step": int(state["step"]), "epoch": int(state["epoch"]),
        "training_config": cfg,
        "procmem_version": state["procmem_version"],
        "weights_sha256": sha256_file(weights_path),
        "weights_dtype": "float16" if fp16 else "float32",
    }
    json.dumps(meta)  # plain types only
    atomic_write_json(meta_path, meta)
    return weights_path, meta_path
