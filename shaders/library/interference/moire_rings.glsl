// family: interference
// tags: moire, concentric-rings, zone-plate, circles
// description: Two or three sets of concentric rings (or zone plates, r^2 phase) with offset centres; their product forms hyperbolic moire fringes.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float f = mix(15.0, 60.0, P(0));
    float zone = step(0.5, P(1));
    float v = 1.0;
    int n = 2 + int(P(2) * 2.0);
    for (int i = 0; i < 3; i++) {
        if (i >= n) break;
        vec2 c = (hash22(vec2(float(i) + 1.0, P(3) * 71.0)) - 0.5) * mix(0.2, 1.2, P(4));
        c += 0.05 * vec2(sin(iTime + float(i)), cos(iTime * 0.7));
        float r = length(uv - c);
        float phase = mix(r * f, r * r * f * 1.5, zone);
        v *= 0.5 + 0.5 * cos(phase);
    }
    v = pow(v, mix(0.3, 1.0, P(5)));
    vec3 col = ppal(v * mix(0.3, 1.0, P(6)) + 0.15 * length(uv), 8);
    fragColor = vec4(col, 1.0);
}
