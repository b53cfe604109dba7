// family: flow
// tags: particles, trails, velocity-field, comet
// description: Sparse particles seeded on a jittered grid leave fading trails along a swirling vector field, gathered by tracing each pixel upstream.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float sc = mix(1.0, 3.0, P(0));
    vec2 off = vec2(P(1), P(2)) * 30.0 + iTime * 0.02;
    float density = mix(6.0, 16.0, P(3));
    float h = mix(0.008, 0.02, P(4));
    float swirl = mix(0.0, 1.0, P(5));
    vec2 p = uv;
    vec3 acc = vec3(0.0);
    for (int i = 0; i < 12; i++) {
        vec2 v = curl2(p * sc + off);
        v = mix(v, vec2(-v.y, v.x) + vec2(1.0, 0.2), swirl * 0.5);
        p -= h * normalize(v + 1e-5);
        vec2 g = p * density;
        vec2 c = floor(g);
        vec2 seed = hash22(c + 17.0);
        float d = length(fract(g) - seed);
        float fade = 1.0 - float(i) / 12.0;
        acc += ppal(hash12(c) * 0.5 + float(i) * 0.01, 8) * smoothstep(0.2, 0.0, d) * fade;
    }
    vec3 bg = ppal(0.3 * length(curl2(uv * sc + off)), 12) * 0.4;
    fragColor = vec4(bg + acc * 0.8, 1.0);
}
