// family: symmetry
// tags: kaleidoscope, dihedral, mirror, fbm
// description: A warped noise texture seen through an n-fold mirror kaleidoscope (dihedral symmetry D_n), with radial rings.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float n = floor(mix(3.0, 13.0, P(0)));
    vec2 p = kaleido(rot2(iTime * 0.1 + P(1) * TAU) * uv, n);
    p = p * mix(1.5, 5.0, P(2)) + vec2(P(3), P(4)) * 10.0;
    float f = fbm(p + vec2(fbm(p + 3.0, 3), fbm(p - 2.0, 3)) * mix(0.5, 3.0, P(5)), 4);
    float r = length(uv);
    float rings = 0.5 + 0.5 * cos(r * mix(5.0, 30.0, P(6)) - 6.0 * f);
    vec3 col = ppal(f * mix(1.0, 2.5, P(7)) + 0.2 * rings, 8);
    col *= 0.65 + 0.45 * rings;
    fragColor = vec4(col, 1.0);
}
