// family: interference
// tags: moire, gratings, lines, beat-pattern
// description: Moire from two or three overlaid line gratings at slightly different angles and pitches; the beat frequencies form the large-scale fringes.
float grating(vec2 p, float ang, float pitch, float duty) {
    vec2 d = vec2(cos(ang), sin(ang));
    return smoothstep(duty - 0.15, duty + 0.15, 0.5 + 0.5 * cos(TAU * dot(p, d) * pitch));
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    float pitch = mix(6.0, 18.0, P(0));
    float da = mix(0.02, 0.25, P(1)) + 0.01 * sin(iTime * 0.3);
    float base = P(2) * PI;
    float duty = mix(0.3, 0.6, P(3));
    vec2 warp = uv + mix(0.0, 0.15, P(4)) * uv * dot(uv, uv);
    float g1 = grating(uv, base, pitch, duty);
    float g2 = grating(warp, base + da, pitch * mix(0.95, 1.08, P(5)), duty);
    float g3 = mix(1.0, grating(uv, base - da * 1.7, pitch * 1.02, duty), step(0.5, P(6)));
    float v = g1 * g2 * g3;
    vec3 col = mix(ppal(0.1, 12) * 0.35, ppal(0.4 + 0.3 * uv.x, 8), v);
    col = mix(col, col.bgr, step(0.7, P(7)) * (1.0 - g2));
    fragColor = vec4(col, 1.0);
}
