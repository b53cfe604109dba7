"""How the training step runs on this machine, not what it computes: CPU threads chosen from
the cores idle now, bf16 autocast on CPUs that multiply bf16 natively, the attention kernel
that suits that precision, and torch.compile with a fall back to eager when it cannot build.

Each choice was measured on tiny-cpu's network (docs/benchmarks.md, "CPU training step").
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings

import torch
from torch import nn

from procmem.core.errors import ProcmemError
from procmem.pretrain.config import CPU_PRECISIONS


class CompileError(ProcmemError):
    """A run.compile value that names no torch.compile backend."""


class CompileFallbackWarning(UserWarning):
    """torch.compile could not build the step here; the run continues eager (dino's path)."""


def idle_cores(cores: int | None = None, load: float | None = None) -> int:
    """The cores this process may use (its affinity) less the 1-minute load average of the
    others, rounded to the nearest core and at least 1."""
    cores = len(os.sched_getaffinity(0)) if cores is None else cores
    load = os.getloadavg()[0] if load is None else load
    return max(1, min(cores, math.floor(cores - load + 0.5)))


def choose_threads(requested: int, local_world: int = 1, cores: int | None = None,
                   load: float | None = None) -> int:
    """run.threads: a number as given; 0 the idle cores shared among this node's processes,
    or OMP_NUM_THREADS when it is set (torchrun sets it to 1 for several processes).

    On 2 cores shared with other jobs two OpenMP threads waiting for each other ran a step
    7x slower than one thread; on an idle machine two ran it 1.5x faster."""
    if requested > 0:
        return requested
    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    return max(1, idle_cores(cores, load) // max(1, local_world))


def cpu_bf16_wanted(precision: str) -> bool:
    """Whether run.cpu_precision asks for bf16 autocast on this CPU: `auto` only where it has
    AMX tiles, the bf16 matrix units the gain was measured on (elsewhere bf16 is emulated
    and slower than fp32)."""
    if precision not in CPU_PRECISIONS:
        raise ValueError(f"run.cpu_precision must be one of {CPU_PRECISIONS}, got {precision!r}")
    return precision == "bf16" or (precision == "auto" and torch.cpu._is_amx_tile_supported())


def autocast(device: torch.device, cuda_bf16: bool, cpu_bf16: bool):
    """bf16 autocast on CUDA when run.bf16 (the paper's fp16 + scaler, without the scaler),
    on CPU when `cpu_bf16`; otherwise fp32 (a null context)."""
    if device.type == "cuda" and cuda_bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def unfuse_attention(*nets: nn.Module) -> int:
    """Switch timm's attention blocks to their matmul-softmax-matmul path; returns how many.

    For bf16 on CPU: torch's fused CPU attention (F.scaled_dot_product_attention) runs its
    bf16 backward ~6x slower than the three bf16 matmuls (ViT-Ti, 65 tokens, head dim 64).
    Networks without timm attention (convnets) are left as they are."""
    n = 0
    for net in nets:
        for m in net.modules():
            if isinstance(getattr(m, "fused_attn", None), bool):
                m.fused_attn = False
                n += 1
    return n


def _backend_builds(backend: str, device: torch.device) -> Exception | None:
    """Compile and run a two-op function with `backend` on `device`: None if it worked, else
    the error (inductor on CPU needs a C++ compiler; its builds are cached on disk)."""
    import torch._dynamo

    try:
        fn = torch.compile(lambda x: torch.relu(x) * 2 + 1, backend=backend, fullgraph=True)
        fn(torch.ones(8, device=device))
        return None
    except Exception as e:  # a missing compiler surfaces as one of several dynamo/inductor errors
        return e
    finally:
        torch._dynamo.reset()


def compile_backbones(backend: str, device: torch.device, *nets: nn.Module) -> bool:
    """torch.compile each net's backbone in place (state_dict keys unchanged), with `backend`.

    Returns whether they were compiled: when the backend cannot build on this machine (e.g.
    no C++ compiler for inductor on CPU) the nets stay eager, with a CompileFallbackWarning."""
    import torch._dynamo

    known = torch._dynamo.list_backends(exclude_tags=())
    if backend not in known:
        raise CompileError(f"run.compile={backend!r} is not a torch.compile backend; use "
                           f"inductor, or '' to run eager (known: {', '.join(known)})")
    failure = _backend_builds(backend, device)
    if failure is not None:
        first = (str(failure).strip().splitlines() or [""])[0][:300]
        warnings.warn(f"run.compile={backend} cannot build on this machine "
                      f"({type(failure).__name__}: {first}); training eager instead",
                      CompileFallbackWarning, stacklevel=2)
        return False
    for net in nets:
        net.backbone.compile(backend=backend)
    return True
