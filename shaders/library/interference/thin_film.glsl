// family: interference
// tags: thin-film, iridescence, soap-film, optical-path
// description: Thin-film interference: a soap film's noise-driven thickness sets the optical path difference, and each RGB wavelength interferes with its own phase.
// Reflectance of a film of thickness d: R ~ sin^2(2 pi n d cos(theta) / lambda) (Born & Wolf, ch. 7).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = uv * mix(1.0, 4.0, P(0)) + vec2(P(1), P(2)) * 20.0;
    // drainage: the film thins towards the top, plus swirling noise
    vec2 q = p + mix(0.2, 1.5, P(3)) * vec2(sfbm(p + iTime * 0.05, 3), sfbm(p + 5.0, 3));
    float d = mix(200.0, 900.0, P(4)) * (0.6 + 0.5 * sfbm(q, 4) + mix(0.0, 0.6, P(5)) * (1.0 - uv.y));
    float n = 1.33;
    vec3 lambda = vec3(650.0, 532.0, 450.0);
    vec3 r = sin(TAU * n * d / lambda);
    vec3 col = r * r;
    col = mix(col, col * ppal(0.3, 8) * 1.6, P(6) * 0.5);
    col *= mix(0.7, 1.2, P(7));
    fragColor = vec4(col, 1.0);
}
