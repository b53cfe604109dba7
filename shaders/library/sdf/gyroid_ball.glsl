// family: sdf
// tags: raymarch, gyroid, minimal-surface, lattice, intersection
// description: A thickened gyroid sheet (Schoen 1970: sin x cos y + sin y cos z + sin z cos x = 0) carved to a ball or box, lit with a key light, rim light and occlusion.
float gyScale() { return mix(3.0, 8.0, P(0)); }

float map(vec3 p) {
    float s = gyScale();
    vec3 q = p * s + iTime * 0.2;
    // the gyroid function's gradient is at most about 1.8, so dividing by 1.8 s keeps a bound
    float sheet = (abs(dot(sin(q), cos(q.yzx))) - mix(0.1, 0.6, P(1))) / (s * 1.8);
    float hull = P(2) < 0.5 ? sdSphere(p, 1.3) : sdBox(p, vec3(1.0));
    return max(sheet, hull);
}
SDF_TOOLKIT(map)

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float a = P(3) * TAU + 0.1 * iTime;
    vec3 ro = vec3(3.2 * sin(a), mix(-2.0, 2.5, P(4)), 3.2 * cos(a));
    vec3 rd = camera(ro, vec3(0.0)) * normalize(vec3(uv, mix(1.5, 2.2, P(5))));
    vec3 bg = mix(ppal(0.2, 12), ppal(0.45, 12), 0.5 + 0.5 * uv.y) * 0.7;
    vec3 col = bg;
    // only march rays that pass within the hull's bounding sphere (radius 1.75)
    float b = dot(ro, rd), c = dot(ro, ro) - 3.0625;
    if (b * b - c > 0.0) {
        float t = sdfMarch(ro + rd * max(0.0, -b - 1.8), rd, 4.0);
        if (t > 0.0) {
            vec3 p = ro + rd * (t + max(0.0, -b - 1.8)), n = sdfNormal(p);
            vec3 l = normalize(vec3(cos(P(6) * TAU), 0.8, sin(P(6) * TAU)));
            vec3 alb = ppal(length(p) * mix(0.3, 1.2, P(7)), 8);
            float ao = sdfAO(p, n);
            float rim = pow(1.0 - max(dot(n, -rd), 0.0), 3.0);
            col = alb * (0.25 * ao + 0.85 * max(dot(n, l), 0.0)) + 0.3 * rim * ao;
        }
    }
    fragColor = vec4(pow(col, vec3(0.4545)), 1.0);
}
