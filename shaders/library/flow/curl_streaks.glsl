// family: flow
// tags: curl-noise, line-integral-convolution, streaks, streamlines
// description: Line integral convolution (Cabral & Leedom 1993) of white noise along a curl-noise field: streaks follow the flow, tinted by speed.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float sc = mix(1.0, 4.0, P(0));
    vec2 off = vec2(P(1), P(2)) * 20.0 + iTime * 0.03;
    // noise grain of 1.5 to 4 pixels at any resolution, smoothly interpolated (value noise)
    float grain = iResolution.y / mix(1.5, 4.0, P(3));
    float h = mix(0.006, 0.018, P(4));
    vec2 pf = uv, pb = uv;
    float acc = vnoise(uv * grain), wsum = 1.0;
    for (int i = 1; i <= 7; i++) {
        vec2 vf = curl2(pf * sc + off), vb = curl2(pb * sc + off);
        pf += h * normalize(vf + 1e-5);
        pb -= h * normalize(vb + 1e-5);
        float w = 1.0 - float(i) / 8.0;
        acc += w * (vnoise(pf * grain) + vnoise(pb * grain));
        wsum += 2.0 * w;
    }
    acc /= wsum;
    float speed = length(curl2(uv * sc + off));
    float v = clamp((acc - 0.5) * mix(3.0, 6.0, P(5)) + 0.5, 0.0, 1.0);
    vec3 col = ppal(0.3 * speed + 0.2 * v, 8) * (0.35 + 0.85 * v);
    fragColor = vec4(col, 1.0);
}
