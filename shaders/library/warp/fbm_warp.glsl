// family: warp
// tags: domain-warp, fbm, marbled
// description: Two-level domain warping, f(p + a*q(p + b*r(p))) with q and r fbm fields; colours mixed from the intermediate fields.
// Domain warping as composition of noise fields (Quilez 2002, "warping"; Perlin & Hoffert 1989).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = uv * mix(0.8, 2.5, P(0)) + vec2(P(1), P(2)) * 30.0;
    float a = mix(1.0, 3.0, P(3)), b = mix(0.5, 3.0, P(4));
    int oct = 2 + int(P(5) * 2.0);
    float t = iTime * 0.1;
    vec2 r = vec2(sfbm(p + vec2(0.0, t), oct), sfbm(p + vec2(5.2, 1.3), oct));
    vec2 q = vec2(sfbm(p + b * r + vec2(1.7, 9.2), oct), sfbm(p + b * r + vec2(8.3, 2.8) - t, oct));
    float f = sfbm(p + a * q, oct + 2);
    vec3 col = ppal(0.5 + 0.5 * f, 8);
    col = mix(col, ppal(length(q), 12), clamp(0.5 * length(r), 0.0, 1.0));
    col *= 0.6 + 0.6 * smoothstep(-0.6, 0.6, f);
    fragColor = vec4(col, 1.0);
}
