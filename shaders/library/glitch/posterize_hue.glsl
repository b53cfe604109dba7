// family: glitch
// tags: posterize, hue-rotation, colour-space, dither, bit-crush
// description: Colour-space glitch: a smooth scene converted to HSV, hue rotated by bands, then bit-crushed with ordered (Bayer) dithering.
float bayer4(vec2 p) {
    vec2 q = mod(floor(p), 4.0);
    float a = mod(q.x, 2.0), b = mod(q.y, 2.0);
    float x = 2.0 * a + b + 4.0 * (2.0 * mod(floor(q.x / 2.0), 2.0) + mod(floor(q.y / 2.0), 2.0));
    return (mod(x * 5.0, 16.0) + 0.5) / 16.0;
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = uv * mix(1.5, 4.0, P(0)) + vec2(P(1), P(2)) * 10.0 + iTime * 0.05;
    vec3 base = ppal(sfbm(p, 4) + 0.3 * uv.x, 8);
    vec3 hsv = rgb2hsv(base);
    float band = floor(uv.y * mix(2.0, 12.0, P(3)));
    hsv.x = fract(hsv.x + hash11(band + P(4) * 33.0) * P(5));
    hsv.y = clamp(hsv.y * mix(0.8, 1.8, P(6)), 0.0, 1.0);
    vec3 col = hsv2rgb(hsv);
    float levels = floor(mix(2.0, 6.0, P(7)));
    float pix = floor(mix(1.0, 4.0, P(12)));
    float d = bayer4(fragCoord / pix) - 0.5;
    col = floor(col * levels + d + 0.5) / levels;
    fragColor = vec4(col, 1.0);
}
