// family: sdf
// tags: raymarch, torus, interlocking, metal, reflection
// description: Interlocking tori tilted at hashed angles, shaded with a fake environment reflection (normal-indexed palette) and rim light.
mat3 ringRot[4];
int ringCount;

void setupRings() {
    ringCount = 2 + int(P(0) * 2.999);
    for (int i = 0; i < 4; i++) {
        float fi = float(i);
        float a = TAU * hash11(fi + P(1) * 23.0) + iTime * 0.2, b = TAU * hash11(fi + 7.0 + P(1) * 23.0);
        mat2 ra = rot2(a), rb = rot2(b);
        ringRot[i] = mat3(ra[0][0], ra[0][1], 0.0, ra[1][0], ra[1][1], 0.0, 0.0, 0.0, 1.0)
                   * mat3(1.0, 0.0, 0.0, 0.0, rb[0][0], rb[0][1], 0.0, rb[1][0], rb[1][1]);
    }
}

float map(vec3 p) {
    float d = 1e3;
    float R = mix(0.6, 1.0, P(2)), r = mix(0.08, 0.25, P(3));
    for (int i = 0; i < 4; i++) {
        if (i >= ringCount) break;
        vec3 q = ringRot[i] * (p - 0.35 * vec3(float(i) - 1.0, 0.0, 0.0) * P(4));
        d = min(d, sdTorus(q, vec2(R, r)));
    }
    return d;
}
SDF_TOOLKIT(map)

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    setupRings();
    float a = P(5) * TAU;
    float dist = mix(2.0, 2.8, P(8));
    vec3 ro = vec3(dist * sin(a), mix(-1.0, 1.0, P(6)), dist * cos(a));
    vec3 rd = camera(ro, vec3(0.0)) * normalize(vec3(uv, 1.6));
    vec3 bg = ppal(0.5 + 0.4 * length(uv), 12) * 0.8;
    vec3 col = bg;
    // skip the march for rays that miss the bounding sphere (radius 2)
    float b = dot(ro, rd), c = dot(ro, ro) - 4.0;
    if (b * b - c > 0.0) {
        float t = sdfMarch(ro, rd, 6.0);
        if (t > 0.0) {
            vec3 p = ro + rd * t, n = sdfNormal(p);
            vec3 r = reflect(rd, n);
            vec3 env = ppal(0.5 + 0.5 * r.y + 0.2 * r.x, 8);
            float fres = pow(1.0 - max(dot(n, -rd), 0.0), 3.0);
            col = env * mix(0.5, 0.9, P(7)) + fres * 0.4;
        }
    }
    fragColor = vec4(col, 1.0);
}
