"""Reading a weights file without running its code: safetensors, or a torch pickle through
`torch.load(weights_only=True)` with only the globals the known checkpoint layouts need.

A torch `.pth`/`.pt`/`.pth.tar` is a pickle, and unpickling can call any function the file
names. torch's weights-only unpickler builds tensors and plain containers only; the one class
allowed on top is `argparse.Namespace`, which dino (`args` in `checkpoint.pth`) and timm's
train.py store. Anything else is refused, naming the globals the file wants.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from procmem.encoder.errors import EncoderError

SAFE_GLOBALS = (argparse.Namespace,)
_UNSUPPORTED = re.compile(r"Unsupported global: GLOBAL (\S+)")
TORCH_SUFFIXES = (".pth", ".pt", ".tar", ".ckpt", ".bin")
CONVERT_HINT = ("if you trust the file, re-save its tensors in your own Python session: "
                "`sd = torch.load(FILE, weights_only=False)[KEY]; "
                "safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()}, 'x.safetensors')`"
                " and give timm:<arch>:x.safetensors")


def check_weights_file(path: str | Path) -> Path:
    """`path` when it exists and has a suffix procmem reads; a clear error otherwise."""
    path = Path(path)
    if path.suffix != ".safetensors" and path.suffix not in TORCH_SUFFIXES:
        raise EncoderError(f"{path}: weights are read from .safetensors or a torch checkpoint "
                           f"({', '.join(TORCH_SUFFIXES)}), not {path.suffix or 'a file without suffix'}")
    if not path.is_file():
        raise EncoderError(f"weights file {path} does not exist")
    return path


def read_weights(path: str | Path):
    """The file's content: a dict of tensors (safetensors) or whatever the checkpoint holds
    (dicts, lists, tensors, numbers, strings, `argparse.Namespace`), all on the CPU."""
    path = check_weights_file(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:  # safetensors raises its own types for bad headers
            raise EncoderError(f"weights file {path} cannot be read ({e})") from None
    return load_torch_file(path)


def load_torch_file(path: Path):
    import pickle

    import torch

    try:
        with torch.serialization.safe_globals(list(SAFE_GLOBALS)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        wanted = _unsafe_globals(path) or _UNSUPPORTED.findall(str(e))
        if wanted:
            raise EncoderError(
                f"{path} is refused: loading it would run {', '.join(wanted)}, and procmem "
                "unpickles only tensors, plain containers and argparse.Namespace (a pickle can "
                f"run any code it names); {CONVERT_HINT}") from None
        reason = "neither a torch.save archive nor a pickle of tensors"
    except (RuntimeError, ValueError, EOFError, OSError) as e:
        reason = _first_line(e)
    raise EncoderError(f"{path} is not a readable torch checkpoint ({reason}); "
                       "save it again with torch.save, or as .safetensors")


def _unsafe_globals(path: Path) -> list[str]:
    """The globals the checkpoint names beyond torch's defaults and SAFE_GLOBALS."""
    import torch

    allowed = {f"{g.__module__}.{g.__qualname__}" for g in SAFE_GLOBALS}
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # a legacy (non-zip) file: torch cannot list them without loading
        return []
    return [g for g in found if g not in allowed]


def _first_line(e: Exception) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0][:300] if lines else type(e).__name__
