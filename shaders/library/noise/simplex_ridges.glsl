// family: noise
// tags: simplex, ridged, fbm, terrain
// description: Ridged multifractal of simplex noise, shaded like a lit height map and coloured by altitude.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float scale = mix(1.5, 7.0, P(0));
    int oct = 3 + int(P(1) * 4.0);
    vec2 p = rot2(P(2) * TAU) * uv * scale + vec2(P(3), P(4)) * 50.0 + iTime * 0.05;
    float h = ridged(p, oct);
    // emboss lighting: one extra sample towards the light gives the directional slope
    vec2 l = vec2(cos(P(6) * TAU), sin(P(6) * TAU));
    float e = 0.01 * scale;
    float slope = (ridged(p + e * l, oct) - h) / (e * mix(4.0, 16.0, P(5)));
    float sh = clamp(0.75 + 0.6 * slope, 0.2, 1.4);
    vec3 col = ppal(h * mix(0.6, 1.6, P(7)) + 0.1 * sfbm(p * 0.5, 2), 8) * sh;
    fragColor = vec4(col, 1.0);
}
