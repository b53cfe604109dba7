// family: tiling
// tags: truchet, arcs, maze, tubes
// description: Smith's quarter-circle Truchet tiling drawn as shaded tubes, at two nested scales, with per-tile colour.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(4.0, 14.0, P(1)) + vec2(P(2), P(3)) * 100.0 + iTime * 0.1;
    vec4 t = truchet(p);
    float w = mix(0.06, 0.22, P(4));
    float tube = clamp(1.0 - t.x / w, 0.0, 1.0);
    vec4 t2 = truchet(p * 2.0 + 0.5);
    float tube2 = clamp(1.0 - t2.x / (w * 0.8), 0.0, 1.0) * step(0.5, P(5));
    vec3 bg = ppal(t.y * 0.3 + 0.05 * length(t.zw), 12) * 0.4;
    vec3 c2 = ppal(0.5 + t2.y * 0.2, 8) * sqrt(tube2);
    vec3 c1 = ppal(t.y * mix(0.0, 0.5, P(6)), 8) * sqrt(tube);
    vec3 col = mix(bg, c2, step(0.001, tube2));
    col = mix(col, c1, step(0.001, tube));
    fragColor = vec4(col, 1.0);
}
