"""A shader program: its id, its GLSL text, and the full fragment shader it becomes.

Ids are `lib/<family>/<name>` for the hand-written library,
`gen/<grammar-version>/<seed>` for generated programs and `user/<name>` for a user's own
files (`shaders.user`; DESIGN.md, contract 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources

from procmem.core.errors import ProcmemError
from procmem.core.hashing import sha256_bytes

PARAM_COUNT = 16
"""Floats in the per-image parameter block `uniform vec4 uParams[4]`, each drawn in [0, 1)."""

GLSL_VERSION = "#version 330"

_MAIN_IMAGE = re.compile(
    r"void\s+mainImage\s*\(\s*out\s+vec4\s+\w+\s*,\s*(in\s+)?vec2\s+\w+\s*\)"
)
_FORBIDDEN = {
    "#version": "the wrapper adds '#version 330'; remove it from the program",
    "iChannel": "texture inputs (iChannel0..3) are not provided; programs are self-contained",
    "texture(": "texture sampling is not provided; programs are self-contained",
    "gl_FragColor": "write to mainImage's `out vec4` argument instead of gl_FragColor",
    "void main(": "define mainImage(out vec4, in vec2), not main(); the wrapper adds main()",
}
_DECLARED_BY_WRAPPER = re.compile(r"uniform\s+\w+\s+(iResolution|iTime|uParams)\b")


class ProgramError(ProcmemError):
    """A program's text is invalid (found without OpenGL) or it failed to compile."""


def prelude() -> str:
    """Shared GLSL helpers (hashes, noise, palettes, rotations) available to every program."""
    return resources.files("procmem.shaders").joinpath("library/prelude.glsl").read_text()


@dataclass(frozen=True)
class Program:
    """One GLSL program in the Shadertoy convention, plus its metadata."""

    id: str
    source: str
    family: str
    tags: tuple[str, ...] = ()
    description: str = ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def sha256(self) -> str:
        """The sha256 (64 hex) of the GLSL text as UTF-8; a sample's `source_sha256` is its
        first 16 digits."""
        return sha256_bytes(self.source.encode("utf-8"))

    def fragment_shader(self) -> str:
        """The complete GLSL 330 fragment shader: header, prelude, program, main().

        A `#line 1` directive precedes the program text so compiler messages give line
        numbers in the program's own text.
        """
        return "\n".join(
            [
                GLSL_VERSION,
                "uniform vec3 iResolution;",
                "uniform float iTime;",
                "uniform vec4 uParams[4];",
                "out vec4 procmem_FragColor;",
                "#define P(i) (uParams[(i) / 4][(i) % 4])",
                prelude(),
                "#line 1",
                self.source,
                "void main() {",
                "    vec4 c = vec4(0.0, 0.0, 0.0, 1.0);",
                "    mainImage(c, gl_FragCoord.xy);",
                "    procmem_FragColor = vec4(clamp(c.rgb, 0.0, 1.0), 1.0);",
                "}",
                "",
            ]
        )


def _line(source: str, index: int) -> int:
    """The 1-based line of character `index` (the line numbers compilers give, after #line 1)."""
    return source.count("\n", 0, index) + 1


def _unbalanced(source: str, open_: str, close: str) -> int | None:
    """None when `source` holds as many `open_` as `close` characters; else where the pair first
    goes wrong: a close with nothing open, or the first open never closed."""
    if source.count(open_) == source.count(close):
        return None
    stack = []
    for i, ch in enumerate(source):
        if ch == open_:
            stack.append(i)
        elif ch == close:
            if not stack:
                return i
            stack.pop()
    return stack[0]


def validate(program_id: str, source: str) -> list[str]:
    """Problems with a program's text found without OpenGL (empty list: looks valid); each
    names the line of the program's own text where it can."""
    problems = []
    if not _MAIN_IMAGE.search(source):
        problems.append(
            f"{program_id}: no 'void mainImage(out vec4 fragColor, in vec2 fragCoord)' found"
        )
    for needle, fix in _FORBIDDEN.items():
        if needle in source:
            line = _line(source, source.index(needle))
            problems.append(f"{program_id}: line {line}: contains '{needle}': {fix}")
    if m := _DECLARED_BY_WRAPPER.search(source):
        problems.append(f"{program_id}: line {_line(source, m.start())}: declares uniform "
                        f"'{m.group(1)}'; the wrapper declares it")
    for open_, close in ("{}", "()", "[]"):
        where = _unbalanced(source, open_, close)
        if where is not None:
            problems.append(
                f"{program_id}: line {_line(source, where)}: unbalanced '{open_}{close}' "
                f"({source.count(open_)} open, {source.count(close)} close)"
            )
    return problems


def check(program: Program) -> Program:
    """Raise ProgramError listing every problem `validate` finds; return the program."""
    problems = validate(program.id, program.source)
    if problems:
        raise ProgramError("; ".join(problems))
    return program
