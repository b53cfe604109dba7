// family: tiling
// tags: sdf-2d, shapes, grid, outlines, drop-shadow
// description: A grid of hashed 2D primitives (circle, rounded box, bar, ring, cross) from signed distance fields, with outlines and drop shadows on a striped ground.
float cellShape(vec2 q, float h, float size) {
    float k = floor(h * 5.0);
    vec2 r = rot2(h * TAU) * q;
    if (k < 1.0) return sdCircle(q, size);
    if (k < 2.0) return sdBox2(r, vec2(size * 0.8, size * 0.6)) - 0.05;
    if (k < 3.0) return sdSegment(r, vec2(-size, 0.0), vec2(size, 0.0)) - size * 0.3;
    if (k < 4.0) return abs(sdCircle(q, size * 0.8)) - size * 0.2;
    return min(sdBox2(r, vec2(size, size * 0.25)), sdBox2(r, vec2(size * 0.25, size)));
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2((P(0) - 0.5) * 0.8) * uv * mix(3.0, 9.0, P(1)) + vec2(0.0, iTime * 0.1);
    vec2 cell = floor(p), q = fract(p) - 0.5;
    float h = hash12(cell + P(2) * 37.0);
    float size = mix(0.2, 0.38, hash11(h * 91.0 + P(3)));
    float d = cellShape(q, h, size);
    float sh = cellShape(q - vec2(0.06, -0.06) * P(4), h, size);
    vec3 ground = ppal(0.05 * (cell.x + cell.y) * P(5), 12) * (0.5 + 0.1 * step(0.5, fract((p.x + p.y) * 4.0)));
    vec3 col = ground * mix(1.0, 0.5, smoothstep(0.05, -0.05, sh));
    vec3 fill = ppal(h * mix(0.2, 1.0, P(6)), 8);
    col = mix(col, fill, smoothstep(0.01, -0.01, d));
    col = mix(col, vec3(0.05), smoothstep(0.015, 0.0, abs(d)) * step(0.3, P(7)));
    fragColor = vec4(col, 1.0);
}
