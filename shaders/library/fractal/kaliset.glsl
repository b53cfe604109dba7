// family: fractal
// tags: kaliset, abs-inversion, iterated-map, orbit-average
// description: The "Kaliset" map p <- |p| / dot(p, p) - c (Kali 2010), an abs-fold plus circle inversion; colour is the orbit's average and minimum distance.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(0.3, 1.5, P(1)) + (vec2(P(2), P(3)) - 0.5);
    vec2 c = vec2(mix(0.3, 0.9, P(4)), mix(0.3, 0.9, P(5))) + 0.02 * vec2(sin(iTime * 0.3), cos(iTime * 0.2));
    int n = 8 + int(P(6) * 16.0);
    float avg = 0.0, mn = 1e3;
    for (int i = 0; i < 24; i++) {
        if (i >= n) break;
        p = abs(p) / dot(p, p) - c;
        float l = length(p);
        avg += l;
        mn = min(mn, l);
    }
    avg /= float(n);
    vec3 col = ppal(avg * mix(0.2, 0.8, P(7)), 8);
    col = mix(col, ppal(0.5 + mn, 12), exp(-mn * mix(2.0, 10.0, P(12))));
    fragColor = vec4(col, 1.0);
}
