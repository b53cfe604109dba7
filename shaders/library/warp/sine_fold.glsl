// family: warp
// tags: domain-warp, iterated, sinusoidal, liquid
// description: A square grid pushed through iterated sinusoidal displacements p += k*sin(p.yx*f), giving liquid marbling.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(1.0, 4.0, P(1));
    float k = mix(0.3, 1.2, P(2)), f = mix(0.8, 2.5, P(3));
    int n = 3 + int(P(4) * 6.0);
    for (int i = 0; i < 9; i++) {
        if (i >= n) break;
        float fi = float(i);
        p += k * sin(p.yx * f + vec2(fi * 1.3 + iTime * 0.2, fi * 2.1 + P(5) * TAU)) / (1.0 + 0.3 * fi);
        p = rot2(0.4 + P(6)) * p;
    }
    float lines = abs(sin(p.x * mix(1.0, 4.0, P(7)))) ;
    vec3 col = ppal(0.15 * length(p) + 0.3 * lines, 8);
    col *= 0.4 + 0.6 * smoothstep(0.0, 0.6, lines);
    fragColor = vec4(col, 1.0);
}
