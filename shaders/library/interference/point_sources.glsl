// family: interference
// tags: waves, superposition, point-sources, ripples
// description: Superposed circular waves from N coherent point sources (Huygens), showing the interference fringes of their summed amplitude.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    int n = 2 + int(P(0) * 5.0);
    float k = mix(15.0, 70.0, P(1));
    float amp = 0.0;
    for (int i = 0; i < 7; i++) {
        if (i >= n) break;
        vec2 src = (hash22(vec2(float(i), P(2) * 113.0)) - 0.5) * 2.2;
        float r = length(uv - src);
        amp += cos(k * r - iTime * 2.0 + float(i) * P(3) * TAU) / (1.0 + mix(0.0, 3.0, P(4)) * r);
    }
    amp /= sqrt(float(n));
    float v = mix(0.5 + 0.5 * amp, amp * amp, step(0.5, P(5)));
    vec3 col = ppal(v * mix(0.5, 1.5, P(6)) + 0.1 * length(uv), 8);
    fragColor = vec4(col, 1.0);
}
