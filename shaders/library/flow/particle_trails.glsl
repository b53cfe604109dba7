// family: flow
// tags: particles, trails, velocity-field, comet
// description: Sparse particles seeded on a jittered grid leave fading trails along a swirling vector field, gathered by tracing each pixel upstream.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float sc = mix(1.0, 3.0, P(0));
    vec2 off = vec2(P(1), P(2)) * 30.0 + iTime * 0.02;
    float density = mix(6.0, 16.0, P(3));
    float h = mix(0.01, 0.024, P(4));
    float swirl = mix(0.0, 1.0, P(5));
    vec2 p = uv;
    vec2 v0 = curl2(p * sc + off);
    float w = 0.0, hue = 0.0;
    for (int i = 0; i < 10; i++) {
        vec2 v = i == 0 ? v0 : curl2(p * sc + off);
        v = mix(v, vec2(-v.y, v.x) + vec2(1.0, 0.2), swirl * 0.5);
        p -= h * normalize(v + 1e-5);
        vec2 g = p * density;
        vec2 c = floor(g);
        float d = length(fract(g) - hash22(c + 17.0));
        // the particle's brightness fades along its trail; hue is averaged, coloured once
        float k = smoothstep(0.2, 0.0, d) * (1.0 - float(i) / 10.0);
        w += k;
        hue += k * (hash12(c) * 0.5 + float(i) * 0.01);
    }
    vec3 bg = ppal(0.3 * length(v0), 12) * 0.4;
    vec3 acc = ppal(hue / max(w, 1e-4), 8) * min(w, 1.5);
    fragColor = vec4(bg + acc * 0.8, 1.0);
}
