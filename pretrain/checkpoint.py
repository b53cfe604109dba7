"""One checkpoint file holds everything a DINO run needs to resume (dino's practice).

Student, teacher, optimiser, the loss centre, step, epoch, the config and the RNG states
(torch, NumPy, Python; CUDA when present), all as tensors and plain types so that
`torch.load(..., weights_only=True)` reads it (no pickled objects). Written atomically:
a kill during the save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from procmem.core.atomic import atomic_open
from procmem.core.errors import ProcmemError

CHECKPOINT_NAME = "checkpoint.pt"


class CheckpointError(ProcmemError):
    """A checkpoint that cannot be read."""


def rng_state() -> dict:
    """The process's RNG states as tensors and plain Python values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, pystate, pygauss = random.getstate()
    out = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "state": torch.tensor(pystate, dtype=torch.int64),
                   "gauss": pygauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(x) for x in p["state"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict) -> None:
    """torch.save into a temporary file, fsync, rename (procmem.atomic)."""
    with atomic_open(path, "wb") as f:
        torch.save(state, f)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint with weights_only=True; a clear error when it is damaged."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(e).__name__}: {e}); "
                              "delete it to start the run afresh, or restore a copy") from None
