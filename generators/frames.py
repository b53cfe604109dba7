"""Frame specs and the frame pool: which program, time and parameters each frame is, rendered.

A frame spec is (program id, time, 16 params) (contract 1). A pool of N frames is drawn from
an rng: a program (from the hand library, the seeded grammar, or both), then
`frames_per_program` (time, params) draws rendered in one call, so the ~150 ms compile is
amortised over several frames (Baradad et al. 2022 likewise render many frames per
shader). Frames the quality filter rejects (`generators.quality.frame_problem`) are redrawn
from the same program a few times, then given up and counted; programs that fail to
compile, crash or hang (`RenderFailed` / `RenderTimeout` from the watchdog) are skipped,
counted and logged by id. Every draw comes from the rng in a fixed order and rendering is
deterministic, so the same rng state gives the same pool.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.generators.render import random_params, random_times

PROGRAM_SOURCES = ("library", "generated", "all")
REDRAWS = 2
"""Rounds of redrawing rejected frames from the same program before giving up on them."""
MAX_FAILED_PROGRAMS = 200
"""Programs in a row that may fail or give only rejected frames before the pool gives up."""

log = logging.getLogger("procmem.generators")


class FramePoolError(ProcmemError):
    """A frame pool cannot be drawn (bad option, or no program renders usable frames)."""


@dataclass(frozen=True)
class FrameSpec:
    """One frame: program id, iTime, the 16 parameter values (each in [0, 1)), and the first
    16 hex digits of the sha256 of the program's text (library programs are edited over time;
    the hash tells whether an id still names the text that made the frame)."""

    program: str
    time: float
    params: tuple
    source_sha256: str = ""

    def to_json(self) -> dict:
        return {"program": self.program, "time": self.time, "params": list(self.params),
                "source_sha256": self.source_sha256}


def source_hash(program) -> str:
    """First 16 hex digits of the sha256 of a program's GLSL text."""
    from procmem.core.hashing import sha256_bytes

    return sha256_bytes(program.source.encode("utf-8"))[:16]


@dataclass
class PoolStats:
    """What drawing pools cost and skipped (summed over pools with `add`)."""

    frames: int = 0
    rejected: int = 0
    rejected_reasons: dict = field(default_factory=dict)
    failed_programs: list = field(default_factory=list)
    render_s: float = 0.0
    programs_used: int = 0

    def add(self, other: "PoolStats") -> None:
        self.frames += other.frames
        self.rejected += other.rejected
        for k, v in other.rejected_reasons.items():
            self.rejected_reasons[k] = self.rejected_reasons.get(k, 0) + v
        self.failed_programs += other.failed_programs
        self.render_s += other.render_s
        self.programs_used += other.programs_used


def grammar_available() -> bool:
    try:
        from procmem.shaders import grammar  # noqa: F401
    except ImportError:
        return False
    return hasattr(grammar, "generate")


def default_programs() -> str:
    """'all' when the program grammar exists, else 'library'."""
    return "all" if grammar_available() else "library"


def check_programs(programs: str) -> str:
    if programs not in PROGRAM_SOURCES:
        raise FramePoolError(f"--programs {programs!r}: choose one of "
                             f"{', '.join(PROGRAM_SOURCES)}")
    if programs in ("generated", "all") and not grammar_available():
        raise FramePoolError(f"--programs {programs}: shaders.grammar is not available here; "
                             "use --programs library")
    if programs in ("library", "all"):
        from procmem.shaders import registry

        if not registry.library():
            skipped = registry.problems()
            why = f"; all {len(skipped)} files were skipped, first: {skipped[0]}" if skipped else ""
            raise FramePoolError(f"--programs {programs}: the shader library has no usable "
                                 f"program{why}")
    return programs


def draw_program(rng: np.random.Generator, programs: str):
    """A program: uniform over the library, a grammar seed, or (all) either with p = 1/2."""
    from procmem.shaders import registry

    use_library = programs == "library" or (programs == "all" and rng.random() < 0.5)
    if use_library:
        lib = registry.library()
        return lib[int(rng.integers(len(lib)))]
    from procmem.shaders import grammar

    return grammar.generate(int(rng.integers(0, 2**31 - 1)))


def _draw(rng: np.random.Generator, m: int):
    """(times, params) of `m` frames: the frame draw of contract 1, times first."""
    return random_times(rng, m), random_params(rng, m)


def render_pool(renderer, n: int, res: int, rng: np.random.Generator, programs: str = "library",
                frames_per_program: int = 8, quality: bool = True):
    """Render a pool of `n` accepted frames: (uint8 [n, res, res, 3], [FrameSpec], PoolStats).

    `renderer` is a `Renderer` or `SafeRenderer`. The pool is shuffled (one rng permutation)
    so neighbouring images do not share a program.
    """
    from procmem.generators.watchdog import RenderFailed
    from procmem.shaders.program import ProgramError

    frame_problem = None
    if quality:
        from procmem.generators.quality import frame_problem
    stats = PoolStats()
    frames = np.empty((n, res, res, 3), np.uint8)
    specs: list[FrameSpec] = []
    failures_in_row = 0
    while len(specs) < n:
        program = draw_program(rng, programs)
        want = min(frames_per_program, n - len(specs))
        times, params = _draw(rng, want)
        accepted = []
        t = time.perf_counter()
        try:
            for round_ in range(REDRAWS + 1):
                imgs = renderer.render(program, times, params, size=res)
                bad_t = []
                for img, tm, pr in zip(imgs, times, params):
                    problem = frame_problem(img) if frame_problem else None
                    if problem is None:
                        accepted.append((img, tm, pr))
                    else:
                        stats.rejected += 1
                        key = problem.split(":")[0]
                        stats.rejected_reasons[key] = stats.rejected_reasons.get(key, 0) + 1
                        bad_t.append(tm)
                if not bad_t or round_ == REDRAWS:
                    break
                times, params = _draw(rng, len(bad_t))
        except (RenderFailed, ProgramError) as e:
            stats.failed_programs.append({"program": program.id, "error": str(e)[:300]})
            log.warning("skipped program %s: %s", program.id, str(e).splitlines()[0])
            accepted = []
        finally:
            stats.render_s += time.perf_counter() - t
        if not accepted:
            failures_in_row += 1
            if failures_in_row >= MAX_FAILED_PROGRAMS:
                raise FramePoolError(
                    f"{failures_in_row} programs in a row failed or gave only rejected frames "
                    f"(last: {program.id}); check the renderer and --programs")
            continue
        failures_in_row = 0
        stats.programs_used += 1
        sha = source_hash(program)
        for img, tm, pr in accepted:
            frames[len(specs)] = img
            specs.append(FrameSpec(program.id, float(tm), tuple(float(v) for v in pr), sha))
    stats.frames += n
    perm = rng.permutation(n)
    return frames[perm], [specs[i] for i in perm], stats
