// family: fractal
// tags: julia, escape-time, smooth-colouring, distance-estimate
// description: Julia sets z <- z^2 + c for c on the main cardioid's edge, coloured by smooth escape count and a distance-estimate outline.
// Distance estimate |z| log|z| / |z'| (Milnor 1989; Douady-Hubbard potential).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    // c = w/2 - w^2/4 with |w| slightly below 1 traces the cardioid boundary: connected, detailed sets
    float a = P(0) * TAU + 0.05 * iTime;
    vec2 w = mix(0.9, 1.02, P(1)) * vec2(cos(a), sin(a));
    vec2 c = 0.5 * w - 0.25 * csqr(w);
    vec2 z = rot2(P(2) * TAU) * uv * mix(0.9, 1.6, P(3)) + (vec2(P(4), P(5)) - 0.5) * 0.5;
    vec2 dz = vec2(1.0, 0.0);
    float n = 0.0, trap = 1e3;
    for (int i = 0; i < 80; i++) {
        dz = 2.0 * cmul(z, dz);
        z = csqr(z) + c;
        trap = min(trap, length(z - 0.5 * w));
        if (dot(z, z) > 1024.0) break;
        n += 1.0;
    }
    float r = length(z);
    float de = 0.5 * r * log(r) / max(length(dz), 1e-6);
    float sn = n - log2(log2(max(dot(z, z), 1.0001))) ;
    vec3 col;
    // inside, the orbit's closest approach to a trap point shows the basin's inner structure
    if (n > 79.0) col = ppal(0.35 * log(trap + 1e-3) + 0.1 * r, 12) * 0.85;
    else col = ppal(sn * mix(0.02, 0.1, P(6)), 8) * mix(1.0, clamp(pow(de * mix(30.0, 200.0, P(7)), 0.3), 0.0, 1.0), 0.8);
    fragColor = vec4(col, 1.0);
}
