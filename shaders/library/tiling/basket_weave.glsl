// family: tiling
// tags: weave, over-under, threads, textile
// description: Plain weave: warp and weft threads alternating over and under, with thread shading and fibre noise.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * TAU) * uv * mix(4.0, 16.0, P(1));
    p += 0.1 * vec2(sin(p.y * 0.7 + iTime * 0.3), cos(p.x * 0.6)) * P(2);
    vec2 c = floor(p), f = fract(p);
    float over = mod(c.x + c.y, 2.0);
    float w = mix(0.6, 0.95, P(3));
    float inX = smoothstep(w, w - 0.1, abs(f.y - 0.5) * 2.0);
    float inY = smoothstep(w, w - 0.1, abs(f.x - 0.5) * 2.0);
    float shadeX = sqrt(max(1.0 - pow(abs(f.y - 0.5) * 2.0 / w, 2.0), 0.0));
    float shadeY = sqrt(max(1.0 - pow(abs(f.x - 0.5) * 2.0 / w, 2.0), 0.0));
    float fibre = 0.85 + 0.15 * gnoise(vec2(p.x * 30.0, p.y * 3.0) * mix(0.5, 1.0, P(4)));
    float fibreY = 0.85 + 0.15 * gnoise(vec2(p.x * 3.0, p.y * 30.0) * mix(0.5, 1.0, P(4)));
    vec3 cx = ppal(hash11(c.y + P(5) * 7.0) * P(6), 8) * shadeX * fibre;
    vec3 cy = ppal(0.5 + hash11(c.x + P(5) * 9.0) * P(6), 12) * shadeY * fibreY;
    vec3 bg = vec3(0.03);
    vec3 col = over > 0.5 ? mix(mix(bg, cy, inY), cx, inX) : mix(mix(bg, cx, inX), cy, inY);
    fragColor = vec4(col, 1.0);
}
