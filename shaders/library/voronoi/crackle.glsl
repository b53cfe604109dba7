// family: voronoi
// tags: cellular, crackle, dried-mud, multiscale
// description: Dried-mud crackle: two scales of F2 - F1 cracks over an fbm-tinted ground, cells bulged by F1.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(3.0, 8.0, P(1)) + vec2(P(2), P(3)) * 40.0 + iTime * 0.02;
    vec4 big = voronoi(p, 1.0);
    vec4 small = voronoi(p * mix(2.5, 4.0, P(4)) + 3.0, 1.0);
    float crackW = mix(0.03, 0.12, P(5));
    float cracks = smoothstep(0.0, crackW, big.y - big.x) * mix(1.0, smoothstep(0.0, crackW, small.y - small.x), P(6));
    float ground = fbm(p * 2.0, 4);
    vec3 col = ppal(0.3 * ground + 0.25 * big.z, 8);
    col *= 0.6 + 0.5 * (1.0 - big.x * big.x);
    col = mix(ppal(0.8, 12) * 0.2, col, cracks);
    fragColor = vec4(col, 1.0);
}
