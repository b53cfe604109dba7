// family: voronoi
// tags: worley, cellular-fbm, organic, scales
// description: Fractal sum of Worley F1 over octaves (cellular fbm), thresholded into organic scales or foam.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = uv * mix(2.0, 6.0, P(0)) + vec2(P(1), P(2)) * 30.0;
    float s = 0.0, a = 0.5, norm = 0.0;
    int oct = 2 + int(P(3) * 3.0);
    for (int i = 0; i < 4; i++) {
        if (i >= oct) break;
        vec4 v = voronoi(p + float(i) * 7.1 + iTime * 0.05 * float(i + 1), mix(0.5, 1.0, P(4)));
        s += a * mix(v.x, v.y - v.x, P(5));
        norm += a;
        p = rot2(0.8) * p * 2.1;
        a *= 0.5;
    }
    s /= norm;
    float g = mix(1.0, 4.0, P(6));
    vec3 col = ppal(s * g, 8);
    col *= smoothstep(0.0, 0.5, s) * 0.8 + 0.3;
    fragColor = vec4(col, 1.0);
}
