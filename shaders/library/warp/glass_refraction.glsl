// family: warp
// tags: refraction, bump, glass, displacement, stripes
// description: A stripe, checker or dot pattern seen through bumpy glass: each pixel is displaced along the gradient of a noise height field (a thin-lens refraction approximation).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 q = uv * mix(1.5, 5.0, P(0)) + vec2(P(1), P(2)) * 20.0 + iTime * 0.05;
    vec3 h = gnoised(q) + 0.5 * gnoised(q * 2.1 + 3.0);
    float strength = mix(0.03, 0.25, P(3));
    vec2 p = uv + strength * h.yz / mix(1.5, 5.0, P(0));
    float freq = mix(6.0, 24.0, P(4));
    vec2 g = rot2(P(5) * PI) * p * freq;
    float kind = floor(P(6) * 3.0);
    float v = kind < 1.0 ? step(0.5, fract(g.x))
            : kind < 2.0 ? mod(floor(g.x) + floor(g.y), 2.0)
            : step(length(fract(g) - 0.5), 0.3);
    vec3 col = mix(ppal(0.1, 8), ppal(0.6, 8), v);
    // light gathers where the glass converges it, darkens where it spreads
    col *= 0.75 + 0.4 * clamp(h.x, -1.0, 1.0) + 0.3 * smoothstep(0.5, 1.5, length(h.yz)) * P(7);
    fragColor = vec4(col, 1.0);
}
