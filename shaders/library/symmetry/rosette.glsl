// family: symmetry
// tags: rosette, rotational, petals, sdf-2d
// description: Concentric layers of petals, each layer a rotational repeat (cyclic group C_n) of a 2D ellipse distance field.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    uv *= mix(0.8, 1.6, P(0));
    vec3 col = ppal(0.3 * length(uv) + 0.1 * cos(atan(uv.y, uv.x) * 24.0), 12) * 0.45;
    int layers = 2 + int(P(1) * 4.0);
    for (int i = 0; i < 6; i++) {
        if (i >= layers) break;
        float fi = float(i);
        float n = floor(mix(4.0, 14.0, hash11(fi + P(2) * 17.0)));
        float rad = 1.0 - fi / float(layers) * 0.9;
        vec2 q = polarRepeat(rot2(fi * 0.3 + iTime * 0.05 * (mod(fi, 2.0) - 0.5)) * uv, n);
        q.x -= rad * 0.6;
        float w = rad * mix(0.12, 0.35, P(3)) * 3.14 / n * 2.0;
        float d = length(q / vec2(rad * 0.45, w)) - 1.0;
        float fill = smoothstep(0.05, -0.05, d);
        vec3 pc = ppal(fi * 0.21 + q.x, 8) * (0.6 + 0.4 * smoothstep(0.0, -1.0, d));
        col = mix(col, pc, fill);
        col = mix(col, vec3(0.05), smoothstep(0.06, 0.0, abs(d)) * P(4));
    }
    fragColor = vec4(col, 1.0);
}
