// family: fractal
// tags: newton, basins, roots, convergence
// description: Newton's method on z^n - 1 (n = 3..6), optionally relaxed; each pixel coloured by the root it converges to and how fast (Cayley 1879).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    vec2 z = rot2(P(0) * TAU + 0.05 * iTime) * uv * exp(mix(0.7, -2.0, P(1))) + (vec2(P(2), P(3)) - 0.5) * 0.8;
    int deg = 3 + int(P(4) * 3.999);
    float relax = mix(1.0, 1.6, P(5) * P(5));
    float n = 0.0;
    for (int i = 0; i < 40; i++) {
        vec2 zn1 = vec2(1.0, 0.0);
        for (int k = 0; k < 5; k++) { if (k >= deg - 1) break; zn1 = cmul(zn1, z); }
        vec2 f = cmul(zn1, z) - vec2(1.0, 0.0);
        vec2 step_ = relax * cdiv(f, float(deg) * zn1);
        z -= step_;
        if (dot(step_, step_) < 1e-6) break;
        n += 1.0;
    }
    float root = fract(atan(z.y, z.x) / TAU + 1.0);
    vec3 col = ppal(floor(root * float(deg) + 0.5) / float(deg) + P(6) * 0.3, 8);
    col *= mix(1.0, exp(-n * mix(0.03, 0.15, P(7))), 0.85);
    fragColor = vec4(col, 1.0);
}
