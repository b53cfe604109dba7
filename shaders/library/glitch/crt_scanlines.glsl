// family: glitch
// tags: crt, scanlines, shadow-mask, barrel-distortion, vignette
// description: A cathode-ray-tube look (barrel-distorted screen, RGB shadow-mask stripes, scanlines, rolling band) over a test card, a noise landscape or a terminal of glyph blocks.
vec3 screenContent(vec2 p) {
    float kind = floor(P(5) * 3.0);
    if (kind < 1.0) {
        // test card: colour bars, checker, a circle
        vec2 g = p * mix(3.0, 9.0, P(2));
        float checker = mod(floor(g.x) + floor(g.y), 2.0);
        float circle = smoothstep(0.02, 0.0, abs(length(p - 0.5) - mix(0.15, 0.4, P(3))));
        vec3 bars = ppal(floor(p.x * mix(4.0, 10.0, P(4))) * 0.13, 8);
        return mix(mix(bars, bars * 0.4, checker), vec3(1.0), circle);
    }
    if (kind < 2.0) {
        // a noise landscape: sky gradient over an fbm ridge line
        float ridge = 0.3 + 0.4 * fbm(vec2(p.x * mix(2.0, 6.0, P(2)) + P(3) * 20.0, 0.5), 4);
        vec3 sky = ppal(0.2 + 0.4 * p.y, 8);
        return p.y < ridge ? ppal(0.6 + 0.5 * (ridge - p.y), 12) * (0.5 + 0.5 * fbm(p * 12.0, 3)) : sky;
    }
    // terminal: rows of glyph-like blocks lit at random
    vec2 cells = vec2(mix(16.0, 40.0, P(2)), mix(10.0, 24.0, P(3)));
    vec2 c = floor(p * cells), f = fract(p * cells);
    float on = step(0.3, hash12(c + P(4) * 50.0)) * step(c.x, hash11(c.y + P(4)) * cells.x);
    float glyph = step(0.5, hash12(floor(f * vec2(3.0, 5.0)) + c * 7.0)) * step(0.1, f.x) * step(0.15, f.y);
    return ppal(0.1, 8) * 0.3 + ppal(0.5 + 0.1 * c.y / cells.y, 8) * on * glyph * 1.3;
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    vec2 c = uv * 2.0 - 1.0;
    c *= 1.0 + mix(0.02, 0.2, P(0)) * dot(c, c);
    vec2 p = c * 0.5 + 0.5;
    float roll = fract(iTime * 0.2 + P(6));
    p.x += 0.02 * P(7) * sin(p.y * 40.0 + iTime * 8.0) * smoothstep(0.1, 0.0, abs(p.y - roll));
    vec3 col = screenContent(p);
    float lines = mix(60.0, 160.0, P(1));
    col *= 0.7 + 0.3 * abs(sin(p.y * lines * PI));
    float mask = mod(floor(fragCoord.x), 3.0);
    col *= mix(vec3(1.0), vec3(mask == 0.0 ? 1.2 : 0.7, mask == 1.0 ? 1.2 : 0.7, mask == 2.0 ? 1.2 : 0.7), 0.5);
    col += 0.12 * smoothstep(0.05, 0.0, abs(p.y - roll));
    vec2 edge = smoothstep(0.0, 0.02, p) * smoothstep(1.0, 0.98, p);
    col *= 1.2 * edge.x * edge.y * (1.0 - 0.25 * dot(c, c));
    fragColor = vec4(col, 1.0);
}
