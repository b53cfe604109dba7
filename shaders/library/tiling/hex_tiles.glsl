// family: tiling
// tags: hexagonal, honeycomb, bevel, cells
// description: Hexagonal tiling from two offset rectangular lattices; each hexagon bevelled, coloured by its id, with optional inner stars.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(3.0, 12.0, P(1)) + iTime * 0.05;
    vec4 hc = hexCell(p);
    vec2 h = hc.xy, id = hc.zw;
    vec2 q = abs(h);
    float edge = 0.5 - max(dot(q, vec2(0.5, 0.8660254)), q.x);
    float rnd = hash12(floor(id * 2.0 + 0.5) + P(2) * 50.0);
    vec3 col = ppal(rnd * mix(0.2, 1.0, P(3)) + 0.1 * id.x * P(4), 8);
    col *= 0.4 + 0.6 * smoothstep(0.0, mix(0.05, 0.25, P(5)), edge);
    float ang = atan(h.y, h.x);
    float star = length(h) - 0.25 * (1.0 + 0.4 * cos(6.0 * ang));
    col = mix(col, ppal(rnd + 0.5, 12), smoothstep(0.02, 0.0, star) * step(0.4, P(6)));
    fragColor = vec4(col, 1.0);
}
