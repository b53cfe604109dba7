// family: warp
// tags: curl, advection, marbling, bands
// description: Paper-marbling bands advected backwards through a few steps of a curl-noise velocity field.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float sc = mix(1.0, 3.5, P(0));
    vec2 p = uv * sc + vec2(P(1), P(2)) * 20.0;
    float h = mix(0.05, 0.25, P(3));
    for (int i = 0; i < 8; i++) {
        p -= h * curl2(p + iTime * 0.05);
    }
    float bands = p.y * mix(2.0, 8.0, P(4)) + mix(0.0, 2.0, P(5)) * gnoise(p * 2.0);
    float b = fract(bands);
    vec3 col = ppal(floor(bands) * 0.137 + P(6), 8);
    col *= 0.55 + 0.45 * smoothstep(0.0, 0.15, b) * smoothstep(1.0, 0.85, b);
    fragColor = vec4(col, 1.0);
}
