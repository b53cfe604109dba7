// family: flow
// tags: advection, semi-lagrangian, dye, turbulence
// description: Dye blobs traced back through a time-varying curl-noise flow (semi-Lagrangian advection, Stam 1999), leaving stretched filaments.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = uv * mix(1.0, 3.0, P(0)) + vec2(P(1), P(2)) * 10.0;
    float dt = mix(0.06, 0.16, P(3));
    float sc = mix(0.8, 2.5, P(4));
    int steps = 5 + int(P(5) * 6.0);
    for (int i = 0; i < 10; i++) {
        if (i >= steps) break;
        float t = iTime * 0.1 - float(i) * dt;
        p -= dt * (curl2(p * sc + vec2(t, -t)) + 0.5 * curl2(p * sc * 2.3 + 7.0));
    }
    float dots = mix(2.0, 6.0, P(6));
    vec2 g = p * dots;
    vec2 cell = floor(g);
    float blob = smoothstep(0.45, 0.2, length(fract(g) - 0.5));
    vec3 dye = ppal(hash12(cell + P(7) * 50.0), 8);
    vec3 bg = ppal(0.2 * (p.x + p.y), 12) * 0.35;
    fragColor = vec4(mix(bg, dye, blob), 1.0);
}
