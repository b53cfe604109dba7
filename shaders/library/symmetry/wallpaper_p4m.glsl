// family: symmetry
// tags: wallpaper-group, p4m, mirror, tiling
// description: Wallpaper group p4m: a noise motif folded by mirrors into a square cell's fundamental triangle and repeated.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * 0.8) * uv * mix(1.0, 3.5, P(1));
    vec2 f = abs(fract(p) - 0.5);
    if (f.y > f.x) f = f.yx;
    vec2 m = f * mix(2.0, 6.0, P(2)) + vec2(P(3), P(4)) * 10.0 + iTime * 0.05;
    float v = fbm(m + 1.5 * vec2(gnoise(m), gnoise(m + 3.3)), 4);
    float bands = 0.5 + 0.5 * sin(v * mix(6.0, 20.0, P(5)));
    vec3 col = mix(ppal(2.0 * v, 8), ppal(v + 0.5, 12), bands * P(6));
    col *= 0.3 + 0.7 * smoothstep(0.0, 0.03, 0.5 - max(f.x, f.y)) * mix(1.0, bands, 0.7);
    fragColor = vec4(col, 1.0);
}
