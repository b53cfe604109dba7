// family: warp
// tags: swirl, vortex, lens, checker
// description: A checker or stripe pattern twisted by several Gaussian swirl vortices and a radial lens, then noise-displaced.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    vec2 p = uv;
    int n = 1 + int(P(0) * 4.0);
    for (int i = 0; i < 4; i++) {
        if (i >= n) break;
        vec2 c = (hash22(vec2(float(i), P(1) * 97.0)) - 0.5) * 1.6;
        vec2 d = p - c;
        float s = (hash11(float(i) + P(2) * 31.0) - 0.5) * 12.0 * mix(0.3, 1.0, P(3));
        p = c + rot2(s * exp(-dot(d, d) * mix(1.5, 6.0, P(4))) + 0.2 * sin(iTime)) * d;
    }
    p *= 1.0 + mix(-0.4, 0.6, P(5)) * dot(uv, uv);
    p += 0.15 * vec2(gnoise(p * 3.0 + 7.0), gnoise(p * 3.0 - 3.0)) * P(6);
    float freq = mix(3.0, 12.0, P(7));
    vec2 g = p * freq;
    float checker = mod(floor(g.x) + floor(g.y), 2.0);
    float stripe = 0.5 + 0.5 * sin(g.x + g.y);
    float v = mix(checker, stripe, step(0.5, P(11)));
    vec3 col = mix(ppal(0.1, 8), ppal(0.55 + 0.1 * length(p), 8), v);
    fragColor = vec4(col, 1.0);
}
