// family: glitch
// tags: ascii-art, glyphs, mosaic, quantisation, terminal
// description: ASCII-art rendering: the scene is averaged per character cell and each cell drawn as a 5x5 glyph whose ink coverage matches the cell's brightness, in cell or mono colour.
// Glyphs: 25-bit masks with increasing ink, from space to a full block.
float glyphMask(int level) {
    const int masks[8] = int[8](0, 4096, 4329604, 4532292, 11512810, 15252014, 33080895, 33554431);
    return float(masks[clamp(level, 0, 7)]);
}

vec3 scene(vec2 p) { return ppal(sfbm(p, 4) * 0.8 + 0.2 * p.x, 8) * (0.5 + 0.5 * snoise(p * 0.7 + 3.0)); }

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float cellPx = floor(mix(6.0, 14.0, P(0)));
    vec2 cell = floor(fragCoord / cellPx);
    vec2 f = fract(fragCoord / cellPx);
    vec2 sp = (cell + 0.5) * cellPx / iResolution.y * mix(1.5, 4.0, P(1)) + vec2(P(2), P(3)) * 20.0 + iTime * 0.05;
    vec3 c = scene(sp);
    float lum = clamp(luma(c) * mix(1.0, 1.8, P(4)), 0.0, 0.999);
    int level = int((0.2 + 0.8 * lum) * 8.0);  // no cell is left blank: dark cells get a dot
    // 5x5 pixel grid inside the cell, one pixel of margin
    vec2 g = floor(f * 7.0) - 1.0;
    float on = 0.0;
    if (g.x >= 0.0 && g.x < 5.0 && g.y >= 0.0 && g.y < 5.0) {
        float bit = g.y * 5.0 + g.x;
        on = mod(floor(glyphMask(level) / exp2(bit)), 2.0);
    }
    vec3 ink = mix(c * 1.6 + 0.15, ppal(0.5, 12), step(0.5, P(5)));
    vec3 bg = mix(vec3(0.04), c * 0.4, P(6));
    fragColor = vec4(mix(bg, ink, on), 1.0);
}
