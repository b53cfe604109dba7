"""Headless rendering of shader programs to uint8 frames (docs/architecture.md, contract 2).

One moderngl EGL standalone context per process, created lazily on the first render so a
`Renderer` can be built (and pickled) before a fork or spawn. A new program costs ~0.5 s
on Mesa llvmpipe (GLSL link ~45 ms, then an LLVM JIT at its first draw; docs/benchmarks.md)
while a 256 px frame costs a few ms, so compiled programs are kept in an LRU cache and each
compile is used for many (time, params) images. Drawing is
a single fullscreen triangle into a reused framebuffer; GL's bottom-up rows are flipped so
row 0 of the result is the top of the image.
"""

from __future__ import annotations

import collections
import importlib
import importlib.util
import os
import re
import sys
from typing import Sequence

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.shaders.program import PARAM_COUNT, Program, ProgramError, check

VERTEX_SHADER = """#version 330
void main() {
    // Fullscreen triangle from gl_VertexID alone (no vertex buffer): (-1,-1), (3,-1), (-1,3).
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

# Compiler log lines: Mesa "0:7(12): error: msg", NVIDIA "0(7) : error C1008: msg".
_LOG_LINE = re.compile(r"^\s*\d+[:(](\d+)\)?(?:\(\d+\))?\s*:\s*(?:error|ERROR)\s*:?\s*(.*)$")


class RenderInputError(ProcmemError):
    """`render` was given times, params or a size it cannot use."""


class ShaderCompileError(ProgramError):
    """A program's GLSL failed to compile or link; the message names the id and the line.

    Line numbers are in the program's own text (the wrapper puts `#line 1` before it).
    """

    def __init__(self, program_id: str, log: str, source: str):
        self.program_id = program_id
        self.log = log
        self.source = source
        self.line = None
        lines = source.splitlines()
        parts = []
        for raw in log.splitlines():
            m = _LOG_LINE.match(raw)
            if not m:
                continue
            line, msg = int(m.group(1)), m.group(2).strip()
            if self.line is None:
                self.line = line
            if 1 <= line <= len(lines):
                parts.append(f"line {line}: {msg}\n    {line} | {lines[line - 1].strip()}")
            else:
                parts.append(f"line {line} (outside the program, in the wrapper): {msg}")
        detail = "\n".join(parts) if parts else log.strip()
        super().__init__(f"program {program_id} failed to compile: {detail}")

    def __reduce__(self):
        return (type(self), (self.program_id, self.log, self.source))


TIME_RANGE = 10.0
"""iTime is drawn uniformly in [0, TIME_RANGE) seconds."""


def random_params(seed_or_rng, n: int) -> np.ndarray:
    """`n` parameter blocks, float32 [n, PARAM_COUNT], each value uniform in [0, 1) (contract 1).
    Given a Generator it draws from it (numpy's default_rng returns a Generator unaltered)."""
    rng = np.random.default_rng(seed_or_rng)
    return rng.random((n, PARAM_COUNT), dtype=np.float32)


def random_times(seed_or_rng, n: int) -> np.ndarray:
    """`n` iTime values, float32 [n], uniform in [0, TIME_RANGE) seconds (contract 1)."""
    rng = np.random.default_rng(seed_or_rng)
    return rng.uniform(0.0, TIME_RANGE, n).astype(np.float32)


def parse_size(size) -> tuple[int, int]:
    """An int `s` (square) or a (width, height) pair, as a validated (w, h) tuple."""
    if isinstance(size, (int, np.integer)):
        w = h = int(size)
    else:
        try:
            w, h = (int(v) for v in size)
        except (TypeError, ValueError):
            raise RenderInputError(
                f"bad size {size!r}: give an int (square) or a (width, height) pair"
            ) from None
    if not (1 <= w <= 16384 and 1 <= h <= 16384):
        raise RenderInputError(f"bad size {size!r}: width and height must be in 1..16384")
    return w, h


def check_batch(program, times, params) -> tuple[np.ndarray, np.ndarray]:
    """`times` as float32 [N] and `params` as float32 [N, PARAM_COUNT] for `program` (a
    `Program`), or a RenderInputError saying what to pass instead."""
    if not isinstance(program, Program):
        raise RenderInputError(
            f"render needs a shaders.program.Program, got {type(program).__name__} "
            f"{program!r:.60}: look ids up with shaders.registry.get(id)"
        )
    program_id = program.id
    times = np.asarray(times, dtype=np.float32).reshape(-1)
    params = np.asarray(params, dtype=np.float32)
    n = len(times)
    if params.ndim == 1 and params.shape[0] == PARAM_COUNT and n == 1:
        params = params[None]
    if params.shape != (n, PARAM_COUNT):
        raise RenderInputError(
            f"params for {program_id} has shape {params.shape}, expected ({n}, "
            f"{PARAM_COUNT}): one row of {PARAM_COUNT} floats per time"
        )
    return times, params


DEFAULT_CACHE_SIZE = 128
"""Compiled programs kept per renderer: more than the hand library (61), so generation
from the library never recompiles; a compiled llvmpipe program costs well under a MB."""


def _load_llvm_users_first() -> None:
    """Import triton (when installed) before llvmpipe starts.

    Mesa llvmpipe and triton each bundle LLVM; importing triton after an llvmpipe context
    exists segfaults (seen with torch 2.14 / triton, Mesa 22.3: timm -> torchvision ->
    torch._dynamo -> triton), whether or not torch was loaded before rendering began. The
    other order is safe, and triton's import costs ~0.2 s once per process without pulling
    in torch, so every rendering process pays it up front.
    """
    if "triton" not in sys.modules and importlib.util.find_spec("triton") is not None:
        importlib.import_module("triton")


class _Compiled:
    """A linked GL program with its empty vertex array and the uniforms it kept."""

    __slots__ = ("program", "vao", "resolution", "time", "params", "param_floats")

    def __init__(self, ctx, prog):
        self.program = prog
        self.vao = ctx.vertex_array(prog, [])
        self.resolution = prog["iResolution"] if "iResolution" in prog else None
        self.time = prog["iTime"] if "iTime" in prog else None
        # The compiler may shorten uParams to the elements the program reads.
        self.params = prog["uParams"] if "uParams" in prog else None
        self.param_floats = 4 * self.params.array_length if self.params is not None else 0

    def release(self) -> None:
        self.vao.release()
        self.program.release()


class Renderer:
    """Render `Program`s to uint8 [N, H, W, 3] frames with one lazily created EGL context.

    `size` is the default output size (int or (w, h)); `cache_size` compiled programs are
    kept (least recently used evicted and released); `device_index` picks the EGL device
    (GPU) where the EGL backend supports it (also GLCONTEXT_DEVICE_INDEX).
    """

    def __init__(self, size=256, cache_size: int = DEFAULT_CACHE_SIZE,
                 device_index: int | None = None):
        if cache_size < 1:
            raise RenderInputError(f"cache_size must be >= 1, got {cache_size}")
        self.size = parse_size(size)
        self.cache_size = int(cache_size)
        self.device_index = device_index
        self.compiles = 0
        self._ctx = None
        self._pid = None
        self._cache: collections.OrderedDict = collections.OrderedDict()
        self._targets: dict = {}

    # A Renderer travels to other processes as its settings; each makes its own context.
    def __getstate__(self):
        return {"size": self.size, "cache_size": self.cache_size,
                "device_index": self.device_index}

    def __setstate__(self, state):
        self.__init__(state["size"], state["cache_size"], state["device_index"])

    @property
    def ctx(self):
        """The moderngl context, created on first use in the calling process."""
        if self._ctx is not None and self._pid != os.getpid():
            raise ProcmemError(
                f"this Renderer's EGL context was created in process {self._pid} and this is "
                f"process {os.getpid()} (a fork after EGL initialisation): create the Renderer "
                "in each worker, or use multiprocessing's 'spawn' start method"
            )
        if self._ctx is None:
            _load_llvm_users_first()
            import moderngl

            try:
                self._ctx = moderngl.create_standalone_context(
                    backend="egl", device_index=self.device_index
                )
            except Exception as e:
                raise ProcmemError(
                    f"could not create an EGL OpenGL 3.3 context ({e}): install Mesa's EGL "
                    "(libegl1, libgl1-mesa-dri; `make setup` does it) or GPU drivers with EGL"
                ) from e
            self._pid = os.getpid()
        return self._ctx

    @property
    def info(self) -> dict:
        """GL_RENDERER, GL_VERSION and GL_VENDOR of this process's context."""
        with self.ctx as ctx:
            i = ctx.info
        return {k: i[k] for k in ("GL_RENDERER", "GL_VERSION", "GL_VENDOR")}

    def cached_ids(self) -> list[str]:
        """Ids of the compiled programs in the cache, least recently used first."""
        return [key[0] for key in self._cache]

    def compile(self, program: Program) -> _Compiled:
        """The compiled program, from the cache or compiled now (and cached)."""
        key = (program.id, program.source)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        check(program)
        with self.ctx as ctx:
            try:
                prog = ctx.program(vertex_shader=VERTEX_SHADER,
                                   fragment_shader=program.fragment_shader())
            except Exception as e:  # moderngl.Error carries the compiler log
                raise ShaderCompileError(program.id, str(e), program.source) from None
            compiled = _Compiled(ctx, prog)
            self.compiles += 1
            self._cache[key] = compiled
            while len(self._cache) > self.cache_size:
                _, old = self._cache.popitem(last=False)
                old.release()
        return compiled

    def _target(self, wh: tuple[int, int]):
        """A reused framebuffer and read-back scratch array for this size."""
        t = self._targets.get(wh)
        if t is None:
            if len(self._targets) >= 4:  # sizes seen rarely: keep the memory bounded
                for fbo, _ in self._targets.values():
                    fbo.release()
                self._targets.clear()
            fbo = self.ctx.simple_framebuffer(wh, components=4)
            t = self._targets[wh] = (fbo, np.empty((wh[1], wh[0], 3), np.uint8))
        return t

    def render(self, program: Program, times: Sequence[float], params, size=None,
               out: np.ndarray | None = None) -> np.ndarray:
        """Frames of `program` at `times[i]` with `params[i]`: uint8 [N, H, W, 3], top row first.

        `params` is float [N, 16] (values in [0, 1)); `size` overrides the default for this
        call; `out` (uint8 [N, H, W, 3], C-contiguous) receives the frames without a copy.
        """
        import moderngl

        w, h = self.size if size is None else parse_size(size)
        times, params = check_batch(program, times, params)
        n = len(times)
        if out is None:
            out = np.empty((n, h, w, 3), np.uint8)
        elif out.shape != (n, h, w, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
            raise RenderInputError(
                f"out has shape {out.shape} {out.dtype}, expected C-contiguous uint8 "
                f"{(n, h, w, 3)}"
            )
        if n == 0:
            return out
        compiled = self.compile(program)
        # Make this renderer's context current: another Renderer in this process may have
        # been used (or closed) since, and GL calls go to whichever context is current.
        with self.ctx:
            fbo, scratch = self._target((w, h))
            fbo.use()
            if compiled.resolution is not None:
                compiled.resolution.value = (float(w), float(h), 1.0)
            for i in range(n):
                if compiled.time is not None:
                    compiled.time.value = float(times[i])
                if compiled.params is not None:
                    compiled.params.write(params[i, : compiled.param_floats].tobytes())
                compiled.vao.render(moderngl.TRIANGLES, vertices=3)
                fbo.read_into(scratch, components=3, alignment=1)
                out[i] = scratch[::-1]
        return out

    def close(self) -> None:
        """Release every GL object and the context (safe to call twice)."""
        if self._ctx is not None and self._pid == os.getpid():
            with self._ctx:
                for c in self._cache.values():
                    c.release()
                for fbo, _ in self._targets.values():
                    fbo.release()
            self._ctx.release()
        self._cache.clear()
        self._targets.clear()
        self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
