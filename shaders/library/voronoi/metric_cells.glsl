// family: voronoi
// tags: voronoi, manhattan, chebyshev, minkowski, metric
// description: Voronoi cells under Minkowski distances (|dx|^k + |dy|^k)^(1/k): k = 1 gives diamond-edged Manhattan cells, large k square Chebyshev cells, k = 2 the usual ones.
float minkowski(vec2 d, float k) { d = abs(d) + 1e-5; return pow(pow(d.x, k) + pow(d.y, k), 1.0 / k); }

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * 0.8) * uv * mix(3.0, 9.0, P(1)) + vec2(P(2), P(3)) * 30.0;
    float k = exp2(mix(0.0, 3.5, P(4)));
    vec2 n = floor(p), f = fract(p);
    float d1 = 9.0, d2 = 9.0, id = 0.0;
    for (int j = -1; j <= 1; j++) {
        for (int i = -1; i <= 1; i++) {
            vec2 g = vec2(i, j);
            vec2 o = 0.5 + 0.45 * sin(iTime * 0.3 + TAU * hash22(n + g));
            float d = minkowski(g + o - f, k);
            if (d < d1) { d2 = d1; d1 = d; id = hash12(n + g + 5.0); }
            else if (d < d2) { d2 = d; }
        }
    }
    float edge = smoothstep(0.0, mix(0.03, 0.12, P(5)), d2 - d1);
    float rings = 0.5 + 0.5 * cos(d1 * mix(10.0, 40.0, P(6)));
    vec3 col = ppal(id * mix(0.3, 1.0, P(7)), 8) * mix(1.0, 0.6 + 0.4 * rings, step(0.5, P(12)));
    fragColor = vec4(col * edge + (1.0 - edge) * 0.05, 1.0);
}
