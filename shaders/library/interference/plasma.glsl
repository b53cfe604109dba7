// family: interference
// tags: plasma, sum-of-sines, demoscene, colour-cycling
// description: The classic plasma: a sum of plane and radial sine waves of differing directions and frequencies, mapped through a cycling palette.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y * mix(1.0, 4.0, P(0));
    float t = iTime * 0.5;
    float v = 0.0;
    int n = 3 + int(P(1) * 4.0);
    for (int i = 0; i < 7; i++) {
        if (i >= n) break;
        float fi = float(i);
        float a = TAU * hash11(fi + P(2) * 43.0);
        float f = mix(0.5, 3.0, hash11(fi + 9.0 + P(3) * 17.0));
        // even waves are plane waves, odd ones radial from a hashed centre
        vec2 c = (hash22(vec2(fi, P(4) * 29.0)) - 0.5) * 4.0;
        float arg = mod(fi, 2.0) < 1.0 ? dot(uv, vec2(cos(a), sin(a))) * f : length(uv - c) * f * 1.5;
        v += sin(arg + t * (1.0 + fi * 0.3));
    }
    v /= float(n);
    vec3 col = ppal(v * mix(0.5, 2.0, P(5)) + t * 0.1, 8);
    col *= mix(1.0, 0.6 + 0.4 * abs(sin(v * PI * mix(2.0, 8.0, P(6)))), step(0.5, P(7)));
    fragColor = vec4(col, 1.0);
}
