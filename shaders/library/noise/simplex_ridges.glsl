// family: noise
// tags: simplex, ridged, fbm, terrain
// description: Ridged multifractal of simplex noise, shaded like a lit height map and coloured by altitude.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float scale = mix(1.5, 7.0, P(0));
    int oct = 3 + int(P(1) * 4.0);
    vec2 p = rot2(P(2) * TAU) * uv * scale + vec2(P(3), P(4)) * 50.0 + iTime * 0.05;
    float h = ridged(p, oct);
    float e = 0.01 * scale;
    float hx = ridged(p + vec2(e, 0.0), oct), hy = ridged(p + vec2(0.0, e), oct);
    vec3 n = normalize(vec3(h - hx, h - hy, e * mix(0.5, 2.0, P(5))));
    vec3 l = normalize(vec3(cos(P(6) * TAU), sin(P(6) * TAU), 0.8));
    float sh = 0.35 + 0.75 * max(dot(n, l), 0.0);
    vec3 col = ppal(h * mix(0.6, 1.6, P(7)) + 0.1 * sfbm(p * 0.5, 2), 8) * sh;
    fragColor = vec4(col, 1.0);
}
