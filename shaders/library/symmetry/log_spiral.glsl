// family: symmetry
// tags: spiral, log-polar, similarity, droste, conformal
// description: Spiral similarity symmetry: a pattern tiled in log-polar coordinates (log r, theta) with a shear, so it repeats under rotation plus scaling, like a Droste spiral.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y + (vec2(P(0), P(1)) - 0.5) * 0.6;
    float arms = floor(mix(1.0, 7.0, P(2)));
    vec2 lp = vec2(log(length(uv) + 1e-4), atan(uv.y, uv.x));
    // shear: one turn of angle climbs in log radius, which makes the spiral. The climb per
    // turn is rounded to whole cells so the pattern meets itself across the angle seam.
    float kx = mix(1.0, 3.0, P(5));
    float m = max(1.0, floor(arms * mix(0.5, 2.0, P(4)) * kx + 0.5));
    lp = vec2(lp.x * mix(1.0, 3.0, P(3)) - lp.y / TAU * m / kx, lp.y * arms / TAU);
    lp.x -= iTime * 0.2;
    vec2 g = lp * vec2(kx, 2.0);
    vec2 cell = floor(g), f = fract(g) - 0.5;
    // cells (x, y) and (x + m, y + 2 arms) are the same cell seen one turn apart
    float turn = floor(cell.y / (2.0 * arms));
    cell -= turn * vec2(m, 2.0 * arms);
    float kind = floor(P(6) * 3.0);
    float shape = kind < 1.0 ? length(f) - 0.35 : kind < 2.0 ? max(abs(f.x), abs(f.y)) - 0.3 : abs(f.x + f.y) - 0.15;
    float h = hash12(cell);
    float lr = log(length(uv) + 1e-4);
    vec3 col = ppal(h * mix(0.2, 1.0, P(7)) + 0.1 * lr, 8);
    col = mix(ppal(0.5 + 0.2 * lr, 12) * 0.35, col, smoothstep(0.03, -0.03, shape));
    col *= smoothstep(0.0, 0.15, length(uv));
    fragColor = vec4(col, 1.0);
}
