// family: noise
// tags: billow, fbm, clouds, layers
// description: Billowy clouds (fbm of |simplex|) in two parallax layers over a vertical sky gradient.
float billow(vec2 p, int oct) {
    float s = 0.0, a = 0.5;
    for (int i = 0; i < 6; i++) {
        if (i >= oct) break;
        s += a * (1.0 - abs(snoise(p)));
        p = rot2(0.5) * p * 2.0 + 5.3;
        a *= 0.5;
    }
    return s / (1.0 - pow(0.5, float(oct)));
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float scale = mix(1.5, 5.0, P(0));
    int oct = 3 + int(P(1) * 3.0);
    vec2 wind = vec2(cos(P(2) * TAU), sin(P(2) * TAU)) * iTime * 0.05;
    vec2 base = vec2(P(3), P(4)) * 30.0;
    float far = billow(uv * scale * 2.0 + base + wind * 0.5, oct);
    float near = billow(uv * scale + base.yx + wind, oct);
    float cover = mix(0.6, 0.8, P(5));
    vec3 sky = mix(ppal(0.0, 8), ppal(0.35, 8), uv.y) * 0.7;
    vec3 c1 = ppal(0.7 + 0.2 * far, 12), c2 = mix(ppal(0.9, 12), vec3(1.0), P(6));
    vec3 col = mix(sky, c1, smoothstep(cover, cover + 0.2, far) * 0.7);
    col = mix(col, c2 * (0.6 + 0.4 * near), smoothstep(cover, cover + 0.15, near));
    fragColor = vec4(col, 1.0);
}
