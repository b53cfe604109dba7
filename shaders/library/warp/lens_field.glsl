// family: warp
// tags: lens, bulge, pinch, radial-displacement, dots
// description: A dot, line or grid pattern seen through several radial bulge and pinch lenses: each displaces points along its radius by a Gaussian-weighted amount.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    vec2 p = uv;
    int n = 2 + int(P(0) * 5.0);
    for (int i = 0; i < 7; i++) {
        if (i >= n) break;
        float fi = float(i);
        vec2 c = (hash22(vec2(fi, P(1) * 61.0)) - 0.5) * 2.2 + 0.1 * vec2(sin(iTime * 0.4 + fi), cos(iTime * 0.3 + fi));
        float rad = mix(0.2, 0.7, hash11(fi + P(2) * 13.0));
        float s = (hash11(fi + 5.0 + P(3) * 7.0) - 0.5) * 2.0 * mix(0.3, 0.9, P(4));
        vec2 d = p - c;
        p = c + d * (1.0 - s * exp(-dot(d, d) / (rad * rad)));
    }
    vec2 g = rot2(P(5) * PI) * p * mix(6.0, 16.0, P(6));
    float kind = floor(P(7) * 3.0);
    vec2 f = fract(g) - 0.5;
    float v = kind < 1.0 ? smoothstep(0.3, 0.25, length(f))
            : kind < 2.0 ? smoothstep(0.12, 0.06, abs(f.x))
            : smoothstep(0.1, 0.04, min(abs(f.x), abs(f.y)));
    vec3 col = mix(ppal(0.2 + 0.1 * length(p - uv), 12) * 0.3, ppal(0.4 * length(p) + 0.05 * dot(floor(g), vec2(1.0)), 8), v);
    fragColor = vec4(col, 1.0);
}
