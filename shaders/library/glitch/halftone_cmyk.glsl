// family: glitch
// tags: halftone, cmyk, print, screen-angles, colour-separation
// description: Four-colour print halftone: a scene separated into C, M, Y, K, each printed as dots on its own rotated screen (classic angles 15, 75, 0, 45 degrees), with misregistration.
float dotScreen(vec2 p, float ang, float freq, float amount) {
    vec2 g = rot2(ang) * p * freq;
    return step(length(fract(g) - 0.5), 0.5 * sqrt(amount) * 1.2);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 sp = uv * mix(1.5, 4.0, P(0)) + vec2(P(1), P(2)) * 20.0 + iTime * 0.03;
    vec3 rgb = ppal(sfbm(sp, 4) + 0.3 * uv.x, 8);
    float k = 1.0 - max(rgb.r, max(rgb.g, rgb.b));
    vec3 cmy = (1.0 - rgb - k) / max(1.0 - k, 1e-3);
    float freq = mix(25.0, 80.0, P(3));
    vec2 mis = (vec2(P(4), P(5)) - 0.5) * mix(0.0, 0.03, P(6));
    float c = dotScreen(uv + mis, radians(15.0), freq, cmy.x);
    float m = dotScreen(uv - mis, radians(75.0), freq, cmy.y);
    float y = dotScreen(uv, 0.0, freq, cmy.z);
    float kk = dotScreen(uv, radians(45.0), freq, k);
    vec3 paper = mix(vec3(1.0), vec3(0.95, 0.92, 0.8), P(7));
    vec3 col = paper * (1.0 - c * vec3(1.0, 0.0, 0.0)) * (1.0 - m * vec3(0.0, 1.0, 0.0)) * (1.0 - y * vec3(0.0, 0.0, 1.0));
    col *= 1.0 - 0.9 * kk;
    fragColor = vec4(col, 1.0);
}
