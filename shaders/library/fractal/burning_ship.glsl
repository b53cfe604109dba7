// family: fractal
// tags: burning-ship, escape-time, abs, multibrot
// description: Burning Ship fractal z <- (|Re z| + i|Im z|)^p + c (Michelitsch & Rossler 1992) with p = 2 or 3, at varied zooms.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    bool cubic = P(3) > 0.7;
    // boundary-rich spots (highest local variance of the escape count), for p = 2 and p = 3
    vec2 spots[8] = vec2[8](vec2(0.0, -1.04), vec2(0.3, -1.14), vec2(-1.46, 0.0), vec2(-1.14, -0.41),
                            vec2(-0.15, 0.9), vec2(-0.91, 0.14), vec2(0.47, 0.03), vec2(-1.19, 0.01));
    int si = int(P(0) * 3.999) + (cubic ? 4 : 0);
    float zoom = exp(-mix(0.0, 3.0, P(1)));
    vec2 c = spots[si] + rot2(P(2) * 0.5 + 0.03 * iTime) * vec2(uv.x, -uv.y) * zoom;
    vec2 z = vec2(0.0);
    float n = 0.0;
    for (int i = 0; i < 72; i++) {
        z = abs(z);
        vec2 z2 = csqr(z);
        z = (cubic ? cmul(z2, z) : z2) + c;
        if (dot(z, z) > 64.0) break;
        n += 1.0;
    }
    float sn = n - log2(log2(max(dot(z, z), 1.0001)));
    // cyclic colouring of the smooth count; inside the set counts as the full 72 iterations,
    // the limit of slow escape, so chaotic dust stays continuous with its surroundings
    float k = mix(0.015, 0.06, P(5));
    float tone = n > 71.0 ? 72.0 * k + 0.3 * length(z - c) : max(sn, 0.0) * k;
    vec3 col = ppal(tone + P(4), 8) * (n > 71.0 ? 0.7 : 1.0);
    fragColor = vec4(col, 1.0);
}
