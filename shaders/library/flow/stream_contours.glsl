// family: flow
// tags: stream-function, streamlines, vortices, contours
// description: Streamlines as iso-lines of a stream function psi built from point vortices plus a uniform stream (ideal 2D flow, Lamb 1932).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float ang = P(0) * TAU;
    float U = mix(0.0, 2.0, P(1));
    float psi = U * dot(uv, vec2(-sin(ang), cos(ang)));
    int n = 1 + int(P(2) * 6.0);
    for (int i = 0; i < 7; i++) {
        if (i >= n) break;
        float fi = float(i);
        vec2 c = (hash22(vec2(fi, P(3) * 57.0)) - 0.5) * 2.0 + 0.1 * vec2(sin(iTime * 0.4 + fi), cos(iTime * 0.3 + fi));
        float gamma = (hash11(fi + P(4) * 19.0) - 0.5) * 2.0;
        psi += gamma * log(length(uv - c) + 0.02);
    }
    psi += mix(0.0, 0.4, P(5)) * gnoise(uv * 3.0 + 5.0 * P(6));
    float k = mix(4.0, 16.0, P(7));
    float line = abs(fract(psi * k) - 0.5) * 2.0;
    vec3 col = ppal(floor(psi * k) * 0.05 + P(12), 8);
    col *= mix(0.35, 1.0, smoothstep(0.0, mix(0.15, 0.6, P(13)), line));
    fragColor = vec4(col, 1.0);
}
