// family: interference
// tags: lissajous, curves, superposition, strands, glow
// description: Lissajous figures x = sin(a s + phi), y = sin(b s) (superposed perpendicular oscillations), in several phase-shifted strands, drawn as glowing strokes.
// Distance without sampling the curve: invert x for the 2a parameter values s that reach this
// pixel's x, refine each by one Newton step towards the closest point, take the nearest.
vec2 lissajous(float s, float a, float b, float ph) { return 0.85 * vec2(sin(a * s + ph), sin(b * s)); }

vec2 lissajousDist(vec2 uv, float a, float b, float ph) {
    float as = asin(clamp(uv.x / 0.85, -1.0, 1.0));
    float best = 1e3, sBest = 0.0;
    for (int k = 0; k < 4; k++) {
        if (float(k) >= a) break;
        for (int m = 0; m < 2; m++) {
            float s = ((m == 0 ? as : PI - as) + TAU * float(k) - ph) / a;
            // Newton on f(s) = (P(s) - uv) . P'(s), the closest-point condition
            vec2 q = lissajous(s, a, b, ph) - uv;
            vec2 d1 = 0.85 * vec2(a * cos(a * s + ph), b * cos(b * s));
            vec2 d2 = -vec2(a * a, b * b) * (q + uv);
            s -= dot(q, d1) / max(dot(d1, d1) + dot(q, d2), 1e-3);
            float dist = length(lissajous(s, a, b, ph) - uv);
            if (dist < best) { best = dist; sBest = fract(s / TAU); }
        }
    }
    return vec2(best, sBest);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    uv = rot2(P(0) * TAU) * uv;
    float a = floor(mix(1.0, 5.0, P(1))), b = floor(mix(1.0, 7.0, P(2)));
    float ph = P(4) * TAU + iTime * 0.2;
    int strands = 1 + int(P(5) * 2.0);
    float w = max(mix(0.004, 0.02, P(7)), 3.0 / iResolution.y);  // at least 1.5 pixels wide
    vec3 col = ppal(0.3 * length(uv), 12) * 0.2;
    for (int j = 0; j < 2; j++) {
        if (j >= strands) break;
        vec2 d = lissajousDist(uv * (1.0 + 0.12 * float(j) * P(6)), a, b, ph + float(j) * mix(0.05, 0.6, P(3)));
        vec3 ink = ppal(d.y + 0.2 * float(j), 8);
        col += ink * (smoothstep(w, 0.0, d.x) + 0.4 * exp(-d.x * mix(15.0, 40.0, P(12))));
    }
    fragColor = vec4(col, 1.0);
}
