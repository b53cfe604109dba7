// family: flow
// tags: electric-field, field-lines, equipotentials, charges, dipole
// description: Field lines and equipotentials of point charges in the plane: lines are contours of sum q_i theta_i, equipotentials of sum q_i log r_i (2D electrostatics).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    int n = 2 + int(P(0) * 5.0);
    float flux = 0.0, pot = 0.0;
    for (int i = 0; i < 7; i++) {
        if (i >= n) break;
        float fi = float(i);
        vec2 c = (hash22(vec2(fi, P(1) * 53.0)) - 0.5) * 2.4 + 0.1 * vec2(sin(iTime * 0.3 + fi), cos(iTime * 0.2 + fi));
        float q = hash11(fi + P(2) * 29.0) < 0.5 ? -1.0 : 1.0;
        vec2 d = uv - c;
        flux += q * atan(d.y, d.x);
        pot += q * log(length(d) + 1e-3);
    }
    float lines = floor(mix(6.0, 20.0, P(3)));
    float fl = abs(fract(flux / TAU * lines) - 0.5);
    float ep = abs(fract(pot * mix(1.0, 4.0, P(4))) - 0.5);
    float w = mix(0.04, 0.15, P(5));
    vec3 col = ppal(0.4 * pot + P(6), 8) * 0.55;
    col = mix(col, ppal(0.5 + 0.05 * flux, 12), smoothstep(w, 0.0, fl));
    col = mix(col, vec3(0.9), smoothstep(w, 0.0, ep) * step(0.4, P(7)) * 0.6);
    fragColor = vec4(col, 1.0);
}
