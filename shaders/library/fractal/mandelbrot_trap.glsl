// family: fractal
// tags: mandelbrot, escape-time, orbit-trap, zoom
// description: Mandelbrot set z <- z^2 + c zoomed to boundary points, coloured by smooth escape count and a point/line orbit trap.
// Smooth iteration count n - log2(log|z|) (Linas Vepstas 1997); orbit traps (Pickover 1995).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    // points on or beside the set's boundary (Misiurewicz points, the seahorse and elephant
    // valleys), chosen for detail that lasts under zoom
    vec2 spots[6] = vec2[6](vec2(-0.77568377, 0.13646737), vec2(0.28, 0.008), vec2(-0.745, 0.113),
                            vec2(0.4245, 0.2075), vec2(-0.10109636, 0.95628652), vec2(-1.54368901, 0.0));
    int si = int(P(0) * 5.999);
    float zoom = exp(-mix(0.5, 6.0, P(1)));
    vec2 c = spots[si] + rot2(P(2) * TAU + 0.05 * iTime) * uv * zoom * 1.2 + (hash22(vec2(P(3))) - 0.5) * zoom * 0.3;
    vec2 z = vec2(0.0);
    vec2 trapP = (vec2(P(4), P(5)) - 0.5) * 1.5;
    float trap = 1e3, n = 0.0;
    bool escaped = false;
    for (int i = 0; i < 96; i++) {
        z = csqr(z) + c;
        trap = min(trap, mix(length(z - trapP), abs(z.y - trapP.y), step(0.5, P(6))));
        if (dot(z, z) > 256.0) { escaped = true; break; }
        n += 1.0;
    }
    vec3 col;
    if (escaped) {
        float sn = n - log2(log2(dot(z, z))) + 4.0;
        col = ppal(sn * mix(0.01, 0.06, P(7)), 8);
    } else {
        col = ppal(0.5 + 0.2 * log(trap + 1e-3), 12) * 0.6;
    }
    col = mix(col, ppal(trap, 12), exp(-trap * mix(2.0, 12.0, P(13))) * 0.7);
    fragColor = vec4(col, 1.0);
}
