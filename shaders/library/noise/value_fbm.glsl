// family: noise
// tags: fbm, value-noise
// description: Fractal value noise coloured by a parameterised cosine palette.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float scale = mix(2.0, 12.0, P(0));
    int octaves = 2 + int(P(1) * 5.0);  // 2..6: finer octaves are below a pixel at 256 px
    vec2 offset = vec2(P(2), P(3)) * 100.0 + iTime * 0.1;
    float n = fbm(uv * scale + offset, octaves);
    vec3 col = palette(n * mix(0.5, 2.0, P(4)) + P(5),
                       vec3(0.5), vec3(0.5), vec3(1.0, mix(0.5, 1.5, P(6)), mix(0.5, 2.0, P(7))),
                       vec3(P(8), P(9), P(10)));
    fragColor = vec4(col, 1.0);
}
