// family: glitch
// tags: glitch, block-displacement, channel-split, rgb-shift
// description: Datamosh-style glitch: rectangular blocks displaced sideways and the RGB channels sampled at split offsets from a striped gradient scene.
vec3 scene(vec2 p) {
    float bands = sin(p.x * mix(3.0, 12.0, P(4)) + 3.0 * fbm(p * 2.0, 3));
    return ppal(0.3 * p.y + 0.2 * bands, 8) * (0.6 + 0.4 * step(0.0, bands));
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float tq = floor(iTime * 4.0);
    vec2 blocks = vec2(mix(2.0, 10.0, P(0)), mix(6.0, 40.0, P(1)));
    vec2 b = floor(uv * blocks);
    float r = hash12(b + tq + P(2) * 91.0);
    vec2 shift = vec2((hash12(b.yy + tq + 3.0) - 0.5) * mix(0.1, 0.8, P(3)), 0.0) * step(0.5, r);
    vec2 split = vec2(mix(0.005, 0.06, P(5)), 0.0) * (1.0 + 2.0 * step(0.8, r));
    vec2 p = uv + shift;
    vec3 col = vec3(scene(p - split).r, scene(p).g, scene(p + split).b);
    col = mix(col, 1.0 - col, step(0.93 + 0.06 * P(6), r));
    col *= 0.85 + 0.15 * step(0.5, fract(fragCoord.y * 0.5));
    fragColor = vec4(col, 1.0);
}
