// family: voronoi
// tags: voronoi, cells, lead-lines, stained-glass
// description: Voronoi cells filled with per-cell colours and dark lead lines along F2 - F1, lit by a soft radial glow.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = uv * mix(3.0, 12.0, P(0)) + vec2(P(1), P(2)) * 50.0;
    p += mix(0.0, 0.6, P(3)) * vec2(gnoise(p * 0.7), gnoise(p * 0.7 + 4.0));
    vec4 v = voronoi(p, mix(0.4, 1.0, P(4)) * (0.9 + 0.1 * sin(iTime)));
    float edge = smoothstep(0.0, mix(0.04, 0.2, P(5)), v.y - v.x);
    vec3 cell = ppal(v.z * mix(0.3, 1.0, P(6)), 8);
    cell *= 0.75 + 0.35 * (1.0 - v.x);
    fragColor = vec4(cell * edge + (1.0 - edge) * ppal(0.9, 12) * 0.15, 1.0);
}
