// family: sdf
// tags: raymarch, twist, rounded-box, repetition, columns
// description: Rounded square towers twisted about their axes (a domain twist, rotation by height) on a repeated grid, seen from a low camera, with sky light and occlusion.
float twistRate() { return mix(0.4, 2.0, P(0)) * (P(1) < 0.5 ? -1.0 : 1.0); }

float map(vec3 p) {
    float c = mix(2.0, 3.0, P(2));
    vec2 cell = floor(p.xz / c + 0.5);
    vec3 q = vec3(p.x - cell.x * c, p.y, p.z - cell.y * c);
    q.xz = rot2(q.y * twistRate() + TAU * hash12(cell)) * q.xz;
    float h = mix(1.0, 4.0, hash12(cell + 7.0));
    float w = mix(0.3, 0.5, P(3));
    // the twist stretches distances by up to sqrt(1 + (rate * w)^2): scale the bound down
    float tower = (sdBox(q - vec3(0.0, h * 0.5, 0.0), vec3(w, h * 0.5, w)) - 0.05) / sqrt(1.0 + twistRate() * twistRate() * w * w);
    // step cap for neighbour cells, lifted above the tallest tower where height is a bound
    return max(min(min(tower, p.y), 0.5 * c - w * 1.42 + 0.05), p.y - 4.2);
}
SDF_TOOLKIT(map)

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float a = P(4) * TAU;
    // the camera stands at a street crossing (a cell corner), never inside a tower
    float c = mix(2.0, 3.0, P(2));
    vec3 ro = vec3((floor(P(5) * 8.0) + 0.5) * c, mix(0.5, 3.0, P(6)), (floor(P(7) * 8.0) + 0.5) * c);
    vec3 ta = ro + vec3(cos(a + 0.1 * iTime), mix(-0.3, 0.4, P(12)), sin(a + 0.1 * iTime));
    vec3 rd = camera(ro, ta) * normalize(vec3(uv, 1.3));
    vec3 sky = mix(ppal(0.1, 12), ppal(0.35, 12), clamp(rd.y * 1.5 + 0.4, 0.0, 1.0));
    vec3 col = sky;
    float t = sdfMarch(ro, rd, 14.0);
    if (t > 0.0) {
        vec3 p = ro + rd * t, n = sdfNormal(p);
        vec3 l = normalize(vec3(0.6, 0.8, 0.3));
        float ao = sdfAO(p, n);
        vec3 alb = p.y < 0.01 ? vec3(0.3) : ppal(0.2 * p.y + hash12(floor(p.xz / 2.5 + 0.5)) * 0.4, 8);
        col = alb * (0.3 * ao * (0.6 + 0.4 * n.y) + 0.8 * max(dot(n, l), 0.0) * (0.4 + 0.6 * ao));
        col = mix(col, sky, 1.0 - exp(-0.012 * t * t));
    }
    fragColor = vec4(pow(col, vec3(0.4545)), 1.0);
}
