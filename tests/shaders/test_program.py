"""Program text validation and the fragment-shader wrapper (no OpenGL)."""

import pytest

from procmem.shaders import registry
from procmem.shaders.program import Program, ProgramError, check, validate

GOOD = "void mainImage(out vec4 fragColor, in vec2 fragCoord) { fragColor = vec4(P(0)); }"


def test_valid_program_has_no_problems():
    assert validate("t/good", GOOD) == []


@pytest.mark.parametrize("text, needle", [
    ("void main() { }", "mainImage"),
    ("#version 330\n" + GOOD, "#version"),
    (GOOD + "\nuniform float iTime;", "iTime"),
    (GOOD.replace("}", ""), "unbalanced"),
    (GOOD.replace("vec4(P(0))", "texture(iChannel0, fragCoord)"), "iChannel"),
])
def test_invalid_text_is_named(text, needle):
    problems = validate("t/bad", text)
    assert problems and any(needle in p for p in problems)
    with pytest.raises(ProgramError, match="t/bad"):
        check(Program(id="t/bad", source=text, family="test"))


def test_wrapper_puts_line_1_at_program_start():
    src = Program(id="t/good", source=GOOD, family="test").fragment_shader()
    assert src.startswith("#version 330")
    after = src.split("#line 1\n", 1)[1]
    assert after.startswith(GOOD)
    assert "void main()" in after


def test_registry_lists_and_finds_library_programs():
    lib = registry.library()
    assert lib, "the library is empty"
    first = lib[0]
    assert registry.get(first.id) is first
    assert first.family in registry.families()
    with pytest.raises(ProgramError, match="shaders list"):
        registry.get("lib/nope/nothing")
