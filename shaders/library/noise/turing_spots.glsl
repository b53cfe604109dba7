// family: noise
// tags: reaction-diffusion-look, band-pass, spots, stripes, turing
// description: Turing-pattern look (spots, labyrinths, stripes) from band-pass noise: a difference of two noise scales, sharpened by a threshold, stretched for stripes.
// Band-pass noise approximates the dominant wavelength a reaction-diffusion system selects (Turing 1952).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(5.0, 14.0, P(1));
    p.x *= mix(1.0, 0.25, P(2) * P(2));  // anisotropy turns spots into stripes
    p += vec2(P(3), P(4)) * 30.0 + iTime * 0.05;
    float band = snoise(p) + 0.5 * snoise(p * 2.03 + 7.0) - 0.6 * snoise(p * 0.37 + 3.0);
    band += 0.4 * snoise(p * 0.2 - 11.0) * P(5);
    float thr = mix(-0.4, 0.4, P(6));
    float sharp = mix(0.05, 0.3, P(7));
    float v = smoothstep(thr - sharp, thr + sharp, band);
    vec3 col = mix(ppal(0.1 + 0.1 * band, 8), ppal(0.6 + 0.1 * band, 12), v);
    fragColor = vec4(col, 1.0);
}
