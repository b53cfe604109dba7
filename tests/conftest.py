"""Fixtures shared by every test directory."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def renderer():
    """One real EGL renderer (64 px) for the whole session: compiling costs ~150 ms a program."""
    from procmem.generators.render import Renderer

    r = Renderer(size=64)
    yield r
    r.close()


@pytest.fixture(scope="session")
def random_vit():
    """A tiny random timm ViT (32 px) as an `Encoder`, through the one spec grammar."""
    from procmem.encoder.spec import make_encoder

    return make_encoder("random:vit_tiny_patch16_224:32:0")


WAVES = """// description: rings whose frequency, phase and colour come from P(0..3)
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (fragCoord - 0.5 * iResolution.xy) / iResolution.y;
    float v = 0.5 + 0.5 * sin(length(uv) * (10.0 + 40.0 * P(0)) - iTime + 6.28 * P(1));
    fragColor = vec4(v * vec3(P(2), 0.6, 1.0 - P(3)) + 0.2 * vec3(uv, 0.5), 1.0);
}
"""
STRIPES = """void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    float a = 3.14159 * P(0);
    float s = dot(uv - 0.5, vec2(cos(a), sin(a))) * (5.0 + 30.0 * P(1));
    vec3 c = palette(fract(s + P(2)), vec3(0.5), vec3(0.5), vec3(1.0), vec3(P(3), P(4), P(5)));
    fragColor = vec4(c * (0.6 + 0.4 * fbm(uv * 4.0 + P(6), 4)), 1.0);
}
"""


@pytest.fixture(scope="session")
def user_glsl(tmp_path_factory):
    """A folder of two user programs of one's own (user/stripes, user/waves), outside the
    library, as a user would have them."""
    d = tmp_path_factory.mktemp("my-programs")
    (d / "waves.glsl").write_text(WAVES)
    (d / "stripes.glsl").write_text(STRIPES)
    return d
