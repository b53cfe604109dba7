// family: tiling
// tags: herringbone, bricks, parquet, running-bond
// description: Herringbone parquet or running-bond brickwork (chosen by a parameter), each brick with its own tint and grain.
// Herringbone of L x 1 bricks: a staircase of horizontal bricks H_k = [k, k+L] x [k, k+1] and
// vertical bricks V_k = [k+L, k+L+1] x [k+1-L, k+1], repeated along (1, 1) and (L, -L).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * 0.8) * uv * mix(3.0, 10.0, P(1)) + iTime * 0.05 + 40.0 * P(8);
    float L = floor(mix(2.0, 5.0, P(2)));
    vec2 q = vec2(0.5), id = vec2(0.0);
    if (P(3) < 0.6) {
        vec2 u = vec2(1.0), v = vec2(L, -L);
        vec2 base = floor(0.5 * (p.x + p.y)) * u + floor(0.5 * (p.x - p.y) / L) * v;
        bool found = false;
        for (int s = -1; s <= 1; s++) {
            for (int k = -6; k <= 2; k++) {
                vec2 o = base + float(k) * u + float(s) * v;
                vec2 r = p - o;
                if (r.x >= 0.0 && r.x < L && r.y >= 0.0 && r.y < 1.0) { q = r; id = o; found = true; break; }
                r = p - o - vec2(L, 1.0 - L);
                if (r.x >= 0.0 && r.x < 1.0 && r.y >= 0.0 && r.y < L) { q = r.yx; id = o + 0.5; found = true; break; }
            }
            if (found) break;
        }
    } else {
        vec2 r = vec2(p.x / L, p.y);
        r.x += floor(r.y) * mix(0.25, 0.5, P(4));
        id = floor(r);
        q = vec2(fract(r.x) * L, fract(r.y));
    }
    float mortar = mix(0.03, 0.12, P(5));
    float inside = smoothstep(0.0, 0.02, min(min(q.x, L - q.x), min(q.y, 1.0 - q.y)) - mortar);
    float rnd = hash12(id + P(6) * 31.0);
    float grain = 0.8 + 0.2 * sin(q.x * 14.0 + 6.0 * gnoise(q * vec2(1.0, 6.0) + rnd * 10.0));
    vec3 col = ppal(rnd * mix(0.1, 0.6, P(7)), 8) * grain;
    col = mix(ppal(0.8, 12) * 0.3, col, inside);
    fragColor = vec4(col, 1.0);
}
