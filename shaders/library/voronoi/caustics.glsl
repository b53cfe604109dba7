// family: voronoi
// tags: caustics, water, cellular-network, light
// description: Pool-floor caustics: the bright network of two drifting, warped Worley F2 - F1 edge fields multiplied together over a tinted floor.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = uv * mix(3.0, 8.0, P(0)) + vec2(P(1), P(2)) * 30.0;
    p += mix(0.1, 0.5, P(3)) * vec2(gnoise(p * 0.5 + iTime * 0.1), gnoise(p * 0.5 + 9.0));
    float t = iTime * 0.2;
    vec4 a = voronoi(p + vec2(t, 0.0), mix(0.7, 1.0, P(4)));
    vec4 b = voronoi(p * 1.3 + vec2(0.0, t) + 17.0, mix(0.7, 1.0, P(4)));
    float sharp = mix(4.0, 14.0, P(5));
    float la = exp(-sharp * (a.y - a.x)), lb = exp(-sharp * (b.y - b.x));
    float light = la + lb + 2.0 * la * lb;
    vec3 floorCol = ppal(0.5 + 0.2 * fbm(p * 0.3, 3), 8) * mix(0.25, 0.5, P(6));
    vec3 col = floorCol + ppal(0.1 + 0.1 * light, 12) * light * mix(0.4, 0.8, P(7));
    fragColor = vec4(col, 1.0);
}
