// family: flow
// tags: shear-layer, stuart-vortex, kelvin-helmholtz, roll-up, advection
// description: Dye bands rolled up by rows of Stuart vortices (cat's eyes, the exact Euler shear-layer solution psi = log(cosh y + e cos x)), traced back along the flow.
// Stuart 1967, "On finite amplitude oscillations in laminar mixing layers".
vec2 stuartVelocity(vec2 p, float e) {
    float den = cosh(p.y) + e * cos(p.x);
    return vec2(sinh(p.y), e * sin(p.x)) / den;
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    vec2 p = rot2((P(0) - 0.5) * 0.6) * uv * mix(2.0, 5.0, P(1)) + vec2(P(2) * TAU, 0.0);
    float period = mix(3.0, 6.0, P(3));
    // rows of shear layers: fold y into one layer, alternating the shear direction
    float row = floor(p.y / period + 0.5);
    p.y -= row * period;
    float e = mix(0.3, 0.95, P(4));
    float dt = mix(0.1, 0.3, P(5));
    for (int i = 0; i < 12; i++) {
        p -= dt * stuartVelocity(p, e) * (mod(row, 2.0) < 1.0 ? 1.0 : -1.0);
    }
    p.x += iTime * 0.2;
    float bands = p.y * mix(1.5, 5.0, P(6)) + 0.3 * gnoise(p * 2.0);
    float b = fract(bands);
    vec3 col = ppal(floor(bands) * 0.17 + row * 0.31, 8);
    col *= 0.5 + 0.5 * smoothstep(0.0, 0.1, b) * smoothstep(1.0, 0.9, b);
    fragColor = vec4(col, 1.0);
}
