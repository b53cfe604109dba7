// family: sdf
// tags: raymarch, domain-repetition, boxes, city, ambient-occlusion
// description: An endless grid of rounded pillars of hashed heights (domain repetition), seen from a flying camera with sun, sky light and ambient occlusion.
float cellSize() { return mix(1.0, 2.0, P(0)); }

float pillarHeight(vec2 cell) { return mix(0.2, 2.5, P(1)) * hash12(cell + P(2) * 61.0); }

float map(vec3 p) {
    float c = cellSize();
    vec2 cell = floor(p.xz / c + 0.5);
    vec2 q = p.xz - cell * c;
    float h = pillarHeight(cell);
    float w = c * mix(0.2, 0.42, P(3));
    float box = sdBox(vec3(q.x, p.y - h * 0.5, q.y), vec3(w, h * 0.5, w)) - 0.03;
    // a ray may cross into a neighbour cell before reaching this one's pillar: cap the step,
    // except above the tallest pillar, where the height above it is itself a safe bound
    return max(min(min(box, p.y), 0.5 * c - w + 0.05), p.y - mix(0.2, 2.5, P(1)));
}
SDF_TOOLKIT(map)

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float a = P(4) * TAU;
    vec3 ro = vec3(iTime * 0.3 + P(5) * 50.0, mix(2.5, 5.0, P(6)), P(7) * 50.0);
    vec3 ta = ro + vec3(cos(a), -mix(0.4, 1.2, P(8)), sin(a));
    vec3 rd = camera(ro, ta) * normalize(vec3(uv, 1.5));
    vec3 sky = mix(ppal(0.1, 12), ppal(0.3, 12), clamp(rd.y * 2.0 + 0.5, 0.0, 1.0));
    vec3 col = sky;
    float t = sdfMarch(ro, rd, 25.0);
    if (t > 0.0) {
        vec3 p = ro + rd * t, n = sdfNormal(p);
        vec3 l = normalize(vec3(cos(P(9) * TAU), 1.0, sin(P(9) * TAU)));
        vec2 cell = floor(p.xz / cellSize() + 0.5);
        vec3 alb = p.y < 0.01 ? vec3(0.25) : ppal(hash12(cell) * mix(0.2, 1.0, P(10)), 8);
        float ao = sdfAO(p, n);
        col = alb * (0.25 * ao * (0.6 + 0.4 * n.y) + 0.9 * max(dot(n, l), 0.0) * (0.3 + 0.7 * ao));
        col = mix(col, sky, 1.0 - exp(-0.004 * t * t));
    }
    fragColor = vec4(pow(col, vec3(0.4545)), 1.0);
}
