// family: noise
// tags: turbulence, marble, veins, perlin
// description: Perlin's marble: a sine of a direction plus absolute-value turbulence gives veined stone.
// Perlin 1985, "An image synthesizer": marble = sin(x + k * turbulence(x)).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(2.0, 6.0, P(1)) + vec2(P(2), P(3)) * 40.0;
    float turb = 0.0, a = 0.5;
    vec2 q = p + iTime * 0.03;
    for (int i = 0; i < 5; i++) {
        turb += a * abs(gnoise(q));
        q = rot2(0.7) * q * 2.1;
        a *= 0.5;
    }
    float freq = mix(1.0, 6.0, P(4));
    float v = 1.0 - abs(sin(p.x * freq + mix(3.0, 14.0, P(5)) * turb));
    v = pow(v, mix(1.5, 5.0, P(6)));
    vec3 col = mix(ppal(0.1 + 0.8 * turb, 8), ppal(0.6 + 0.5 * turb, 12) * 0.3, v);
    fragColor = vec4(col, 1.0);
}
