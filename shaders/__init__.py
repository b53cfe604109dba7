"""GLSL fragment programs as text: the hand-written library, the seeded grammar, validation.

Nothing here touches OpenGL, so everything is testable without a GPU or a display.
A program follows the Shadertoy convention (docs/architecture.md, contract 1):
`void mainImage(out vec4 fragColor, in vec2 fragCoord)`, reading `iResolution`, `iTime`
and a per-image parameter block `uParams[4]` (16 floats in [0, 1), read with `P(i)`).
"""

from procmem.shaders.program import PARAM_COUNT, Program, ProgramError

__all__ = ["PARAM_COUNT", "Program", "ProgramError"]
