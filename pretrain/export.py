"""`procmem pretrain export`: a run's teacher backbone as `<name>.safetensors` + `<name>.json`.

The teacher (not the student) is exported, as in dino: it is the better network throughout
training (Caron et al. 2021, Sec. 5.6). The JSON says how to rebuild and feed it and what it
learned from (the shard manifest's sha256 or the stream process), so the compartment audit
can check that no real image reached it.
"""

from __future__ import annotations

import json
from pathlib import Path

from procmem.core.atomic import atomic_write_bytes, atomic_write_json
from procmem.core.errors import ProcmemError
from procmem.core.hashing import sha256_file
from procmem.encoder.encoder import encoder_files
from procmem.pretrain.checkpoint import CHECKPOINT_NAME, load_checkpoint


class ExportError(ProcmemError):
    """A run directory with nothing exportable in it."""


def export_run(run_dir: str | Path, name: str | Path) -> tuple[Path, Path]:
    """Write the teacher backbone of `run_dir`'s checkpoint; returns (weights, json) paths."""
    from safetensors.torch import save

    run = Path(run_dir)
    ckpt = run / CHECKPOINT_NAME
    if not ckpt.is_file():
        raise ExportError(f"run {run} has no {CHECKPOINT_NAME}; train first with "
                          f"`procmem pretrain --preset ... --data ... --out {run}`")
    state = load_checkpoint(ckpt)
    prefix = "backbone."
    weights = {k[len(prefix):]: v.contiguous() for k, v in state["teacher"].items()
               if k.startswith(prefix)}
    if not weights:
        raise ExportError(f"checkpoint {ckpt} holds no teacher backbone; is it a DINO run?")
    weights_path, meta_path = encoder_files(name)
    atomic_write_bytes(weights_path, save(weights))
    cfg = state["config"]
    meta = {
        **state["encoder"],
        "source": "procmem pretrain",
        "learned_from": state["provenance"],
        "shard_manifest_sha256": state["provenance"].get("manifest_sha256"),
        "step": int(state["step"]), "epoch": int(state["epoch"]),
        "training_config": cfg,
        "procmem_version": state["procmem_version"],
        "weights_sha256": sha256_file(weights_path),
    }
    json.dumps(meta)  # plain types only
    atomic_write_json(meta_path, meta)
    return weights_path, meta_path
