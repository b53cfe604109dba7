// family: sdf
// tags: raymarch, menger-sponge, fractal, boxes, ambient-occlusion
// description: The Menger sponge (Menger 1926) as a distance field: a box minus three crosses at each of up to four scales, orbited by the camera and shaded by occlusion and iteration depth.
int spongeLevels() { return 2 + int(P(0) * 2.999); }

float map(vec3 p) {
    float d = sdBox(p, vec3(1.0));
    float s = 1.0;
    int levels = spongeLevels();
    for (int i = 0; i < 4; i++) {
        if (i >= levels) break;
        // fold into one cell of the 3x3x3 subdivision and carve the centre cross out of it
        vec3 a = mod(p * s, 2.0) - 1.0;
        s *= 3.0;
        vec3 r = abs(1.0 - 3.0 * abs(a));
        float cross_ = (min(max(r.x, r.y), min(max(r.y, r.z), max(r.z, r.x))) - 1.0) / s;
        d = max(d, cross_);
    }
    return d;
}
SDF_TOOLKIT(map)

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float a = P(1) * TAU + 0.1 * iTime;
    float dist = mix(2.6, 4.0, P(2));
    vec3 ro = vec3(dist * sin(a), mix(-1.5, 2.5, P(3)), dist * cos(a));
    vec3 ta = (vec3(P(4), P(5), P(6)) - 0.5) * 0.8;
    vec3 rd = camera(ro, ta) * normalize(vec3(uv, mix(1.4, 2.4, P(7))));
    vec3 bg = ppal(0.3 + 0.2 * uv.y, 12) * 0.6;
    vec3 col = bg;
    // march only rays that meet the sponge's bounding sphere (radius sqrt 3)
    float b = dot(ro, rd), disc = b * b - dot(ro, ro) + 3.0;
    if (disc > 0.0) {
        float t0 = max(-b - sqrt(disc), 0.0);
        float t = sdfMarch(ro + rd * t0, rd, 2.0 * sqrt(disc) + 0.01);
        if (t > 0.0) {
            vec3 p = ro + rd * (t + t0), n = sdfNormal(p);
            vec3 l = normalize(vec3(cos(P(12) * TAU), 0.9, sin(P(12) * TAU)));
            float ao = sdfAO(p, n);
            vec3 alb = ppal(dot(abs(n), vec3(0.1, 0.2, 0.3)) + 0.2 * length(p), 8);
            col = alb * (0.3 * ao + 0.8 * max(dot(n, l), 0.0) * (0.4 + 0.6 * ao));
        }
    }
    fragColor = vec4(pow(col, vec3(0.4545)), 1.0);
}
