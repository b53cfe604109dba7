"""Frame specs and the frame pool: which program, time and parameters each frame is, rendered.

A frame spec is (program id, time, 16 params) (contract 1). A pool of N frames is drawn from
an rng: a program (from the hand library, the seeded grammar or the user's own files, each
source by its weight), then
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
"""The keywords of `--programs`: each names a fixed mix of the built-in sources (KEYWORDS)."""
SOURCES = ("library", "generated", "user")
"""Where a program is drawn from, the keys of a weights dict, in the order the draw uses."""
KEYWORDS = {"library": {"library": 1.0}, "generated": {"generated": 1.0},
            "all": {"library": 0.5, "generated": 0.5}}
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
    return program.sha256[:16]


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


def weights_of(programs) -> dict[str, float]:
    """source -> weight of a config's `programs`: a keyword of PROGRAM_SOURCES or a dict of
    positive weights over SOURCES (a FramePoolError names what is wrong)."""
    if isinstance(programs, str):
        if programs not in KEYWORDS:
            raise FramePoolError(f"--programs {programs!r}: choose one of "
                                 f"{', '.join(PROGRAM_SOURCES)}, or give program files")
        return KEYWORDS[programs]
    if not isinstance(programs, dict) or not programs:
        raise FramePoolError(f"programs {programs!r}: give a keyword ({', '.join(PROGRAM_SOURCES)}) "
                             f"or weights over {', '.join(SOURCES)}")
    for k, w in programs.items():
        if k not in SOURCES:
            raise FramePoolError(f"--program-weights {k}: not a program source; choose among "
                                 f"{', '.join(SOURCES)}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w < float("inf"):
            raise FramePoolError(f"--program-weights {k}={w}: a weight must be a number > 0")
    return programs


def canonical(weights: dict[str, float]):
    """The keyword that draws exactly as `weights` do (so a config is written one way only),
    else the weights normalised to sum 1, in SOURCES order."""
    total = sum(weights.values())
    norm = {k: weights[k] / total for k in SOURCES if k in weights}
    return next((k for k, v in KEYWORDS.items() if v == norm), norm)


def check_programs(programs, user_programs=()):
    """`programs` (see `weights_of`) if every source it draws from has programs: the grammar
    is importable, the library has a usable program, user programs are given exactly when
    they have a weight."""
    weights = weights_of(programs)
    name = (f"--programs {programs}" if isinstance(programs, str) else
            "--program-weights " + ",".join(f"{k}={w:g}" for k, w in weights.items()))
    if "generated" in weights and not grammar_available():
        raise FramePoolError(f"{name}: shaders.grammar is not available here; "
                             "use --programs library")
    if "library" in weights:
        from procmem.shaders import registry

        if not registry.library():
            skipped = registry.problems()
            why = f"; all {len(skipped)} files were skipped, first: {skipped[0]}" if skipped else ""
            raise FramePoolError(f"{name}: the shader library has no usable program{why}")
    if "user" in weights and not user_programs:
        raise FramePoolError("--program-weights user: no user programs given; add --programs "
                             "PATH... (files, folders or globs of your own .glsl programs)")
    if user_programs and "user" not in weights:
        raise FramePoolError(f"{len(user_programs)} user programs given but {name} gives "
                             "them no weight: add user=W to --program-weights")
    return programs


def choose_programs(words=None, weights: dict | None = None):
    """(programs, user_programs) of a config from `--programs` words and `--program-weights`.

    A word of PROGRAM_SOURCES is a keyword; any other word is a file, folder or glob of user
    programs (shaders.user.load). Without weights every source named weighs the same (`all`
    is library and generated); with them the weights name the sources drawn from, and a source
    the words name must have one. No words and no weights: `default_programs()`.
    """
    from procmem.shaders import user

    words = list(words or [])
    paths = [w for w in words if w not in PROGRAM_SOURCES]
    named = {s for w in words if w in KEYWORDS for s in KEYWORDS[w]} | ({"user"} if paths else set())
    user_programs = user.load(paths) if paths else ()
    if weights is None:
        return (canonical(dict.fromkeys(named, 1.0)) if named else default_programs()), user_programs
    missing = sorted(named - set(weights_of(weights)))
    if missing:
        raise FramePoolError(f"--program-weights gives no weight to {', '.join(missing)}, which "
                             f"--programs names: add {missing[0]}=W")
    return canonical(weights), user_programs


@dataclass(frozen=True)
class Mix:
    """Where a pool's programs are drawn from: (source, weight) pairs in SOURCES order, and the
    user programs (sorted by id) when `user` has a weight."""

    weights: tuple
    user: tuple = ()


def mix_of(programs, user_programs=()) -> Mix:
    """The Mix of a config's `programs` and `user_programs`."""
    weights = weights_of(programs)
    return Mix(tuple((k, float(weights[k])) for k in SOURCES if k in weights), tuple(user_programs))


def draw_program(rng: np.random.Generator, programs):
    """A program from `programs` (a Mix, or a config's `programs`): its source drawn by weight
    (one uniform draw, none when there is one source), then uniform over the library's or the
    user's programs, or a grammar seed. The keyword `all` is library and grammar at 1/2 each."""
    from procmem.shaders import registry

    mix = programs if isinstance(programs, Mix) else mix_of(programs)
    source = mix.weights[-1][0]
    if len(mix.weights) > 1:
        u, total, acc = rng.random(), sum(w for _, w in mix.weights), 0.0
        for name, w in mix.weights[:-1]:
            acc += w
            if u < acc / total:
                source = name
                break
    if source == "library":
        lib = registry.library()
        return lib[int(rng.integers(len(lib)))]
    if source == "user":
        return mix.user[int(rng.integers(len(mix.user)))]
    from procmem.shaders import grammar

    return grammar.generate(int(rng.integers(0, 2**31 - 1)))


def _draw(rng: np.random.Generator, m: int):
    """(times, params) of `m` frames: the frame draw of contract 1, times first."""
    return random_times(rng, m), random_params(rng, m)


def render_pool(renderer, n: int, res: int, rng: np.random.Generator, programs="library",
                frames_per_program: int = 8, quality: bool = True):
    """Render a pool of `n` accepted frames: (uint8 [n, res, res, 3], [FrameSpec], PoolStats).

    `renderer` is a `Renderer` or `SafeRenderer`; `programs` a Mix or a keyword (see
    `draw_program`). The pool is shuffled (one rng permutation) so neighbouring images do not
    share a program.
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
