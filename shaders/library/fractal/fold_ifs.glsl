// family: fractal
// tags: ifs, kaleidoscopic, folding, sierpinski, koch
// description: A 2D kaleidoscopic iterated function system: repeated mirror folds, scaling and rotation (Sierpinski/Koch-like), coloured by distance estimate, fold count and orbit trap.
// Kaleidoscopic IFS (Knighty, fractalforums 2010): p <- s * R * fold(p) - offset * (s - 1); the
// attractor of an IFS (Hutchinson 1981) is drawn by its distance estimate |p| / s^n.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float s = mix(1.6, 2.6, P(2));
    vec2 off = vec2(mix(0.5, 1.2, P(3)), mix(0.0, 0.8, P(4)));
    // the map's fixed point is `off`: frame the attractor around it
    vec2 p = rot2(P(0) * TAU) * uv * mix(0.35, 0.9, P(1)) * length(off) + off * 0.6;
    mat2 r = rot2(mix(-0.6, 0.6, P(5)) + 0.05 * sin(iTime * 0.5));
    float foldAng = PI / floor(mix(3.0, 7.0, P(6)));
    vec2 fn = vec2(cos(foldAng), sin(foldAng));
    float trap = 1e3, folds = 0.0, scale = 1.0;
    for (int i = 0; i < 12; i++) {
        p = abs(p);
        float d = dot(p, fn);
        if (d < 0.0) { p -= 2.0 * d * fn; folds += 1.0; }
        p = r * p * s - off * (s - 1.0);
        scale *= s;
        trap = min(trap, length(p) / scale);
    }
    float edge = length(p) / scale;
    vec3 col = ppal(folds * 0.1 + log(edge + 1e-4) * mix(0.1, 0.3, P(7)), 8);
    col *= 0.55 + 0.45 * cos(log(edge + 1e-4) * mix(3.0, 8.0, P(13)));
    col = mix(col, ppal(0.9, 12), exp(-trap * mix(100.0, 600.0, P(12))));
    fragColor = vec4(col, 1.0);
}
