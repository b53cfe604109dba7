// family: symmetry
// tags: mandala, polar, rings, dihedral
// description: Polar-coordinate mandala: rings of differing fold counts, each drawing a cosine motif in angle and radius.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    uv = rot2(P(0) * TAU) * uv * mix(0.7, 1.5, P(1));
    float r = length(uv), a = atan(uv.y, uv.x);
    float ringCount = floor(mix(3.0, 10.0, P(2)));
    float ring = floor(r * ringCount);
    float local = fract(r * ringCount);
    float n = 2.0 * floor(mix(2.0, 9.0, hash11(ring + P(3) * 41.0)));
    float motif = cos(a * n + iTime * 0.2 * (mod(ring, 2.0) * 2.0 - 1.0));
    float shape = abs(local - 0.5 - 0.35 * motif * mix(0.3, 1.0, P(4)));
    float line = smoothstep(mix(0.05, 0.25, P(5)), 0.0, shape);
    vec3 col = ppal(ring * 0.17 + 0.1 * motif, 8) * (0.45 + 0.55 * line) + ppal(a / TAU * 0.3 + r, 12) * 0.25 * (1.0 - line);
    col += ppal(ring * 0.31, 12) * smoothstep(0.08, 0.0, abs(local - 0.03)) * 0.6;
    fragColor = vec4(col, 1.0);
}
