// family: glitch
// tags: crt, scanlines, shadow-mask, barrel-distortion, vignette
// description: A cathode-ray-tube look: barrel-distorted screen, RGB shadow-mask stripes, scanlines, bloom-ish halo and a rolling band over a geometric test pattern.
vec3 testPattern(vec2 p) {
    vec2 g = p * mix(3.0, 9.0, P(2));
    float checker = mod(floor(g.x) + floor(g.y), 2.0);
    float circle = smoothstep(0.02, 0.0, abs(length(p - 0.5) - mix(0.15, 0.4, P(3))));
    vec3 bars = ppal(floor(p.x * mix(4.0, 10.0, P(4))) * 0.13, 8);
    return mix(mix(bars, bars * 0.4, checker * P(5)), vec3(1.0), circle);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    vec2 c = uv * 2.0 - 1.0;
    c *= 1.0 + mix(0.05, 0.3, P(0)) * dot(c, c);
    vec2 p = c * 0.5 + 0.5;
    float roll = fract(iTime * 0.2 + P(6));
    p.x += 0.02 * P(7) * sin(p.y * 40.0 + iTime * 8.0) * smoothstep(0.1, 0.0, abs(p.y - roll));
    vec3 col = testPattern(p);
    float lines = mix(80.0, 200.0, P(1));
    col *= 0.6 + 0.4 * pow(abs(sin(p.y * lines * PI)), 1.5);
    float mask = mod(floor(fragCoord.x), 3.0);
    col *= mix(vec3(1.0), vec3(mask == 0.0 ? 1.2 : 0.7, mask == 1.0 ? 1.2 : 0.7, mask == 2.0 ? 1.2 : 0.7), 0.6);
    col += 0.15 * smoothstep(0.05, 0.0, abs(p.y - roll));
    vec2 edge = smoothstep(0.0, 0.02, p) * smoothstep(1.0, 0.98, p);
    col *= edge.x * edge.y * (1.0 - 0.4 * dot(c, c));
    fragColor = vec4(col, 1.0);
}
