// family: noise
// tags: contours, topographic, iso-lines, hypsometric, fbm
// description: A topographic map of an fbm height field: hypsometric colour bands, thin iso-lines with thicker index contours every fifth, and hill shading.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(1.0, 4.0, P(1)) + vec2(P(2), P(3)) * 40.0 + iTime * 0.02;
    vec3 hd = gnoised(p) + 0.5 * gnoised(p * 2.03 + 5.0) + 0.25 * gnoised(p * 4.1 + 9.0);
    float h = 0.5 + 0.45 * hd.x;
    float levels = floor(mix(8.0, 30.0, P(4)));
    float x = h * levels;
    // anti-aliased iso-lines: distance to the nearest level in pixels, via the screen gradient
    float px = fwidth(x);
    float line = 1.0 - smoothstep(0.5, 1.5, abs(fract(x + 0.5) - 0.5) / max(px, 1e-4));
    float index = 1.0 - smoothstep(1.0, 2.5, abs(fract(x / 5.0 + 0.5) - 0.5) * 5.0 / max(px, 1e-4));
    float band = floor(x) / levels;
    vec3 col = ppal(band * mix(0.5, 1.2, P(5)), 8);
    float shade = clamp(0.8 + 0.25 * dot(normalize(hd.yz + 1e-4), vec2(cos(P(6) * TAU), sin(P(6) * TAU))), 0.5, 1.1);
    col *= mix(1.0, shade, P(7));
    col = mix(col, ppal(0.8, 12) * 0.3, max(line * 0.45, index * 0.8));
    fragColor = vec4(col, 1.0);
}
