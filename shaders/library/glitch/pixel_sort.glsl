// family: glitch
// tags: pixel-sort, streaks, threshold, smear
// description: Pixel-sorting look: within runs where brightness passes a threshold, colour is smeared along a direction into bright-to-dark gradients.
vec3 scene(vec2 p) { return ppal(fbm(p, 4) * 1.5 + 0.2 * p.x, 8); }

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    float ang = floor(P(0) * 4.0) * PI * 0.5 + (P(1) - 0.5) * 0.3;
    vec2 dir = vec2(cos(ang), sin(ang));
    vec2 perp = vec2(-dir.y, dir.x);
    float sc = mix(2.0, 6.0, P(2));
    vec2 off = vec2(P(3), P(4)) * 20.0 + iTime * 0.03;
    vec3 here = scene(uv * sc + off);
    float thr = mix(0.3, 0.7, P(5));
    // run length is a hash of the column (perpendicular coordinate), like a sort segment
    float col_id = floor(dot(uv, perp) * mix(60.0, 200.0, P(6)));
    float run = mix(0.05, 0.5, hash11(col_id + P(7) * 17.0));
    float s = dot(uv, dir);
    float f = fract(s / run);
    vec2 start = uv - dir * f * run;
    vec3 head = scene(start * sc + off);
    vec3 tail = scene((start + dir * run) * sc + off);
    vec3 sorted = mix(head, tail, f * f);
    float sortOn = step(thr, luma(scene((start + dir * run * 0.5) * sc + off)));
    vec3 col = mix(here, sorted, sortOn);
    fragColor = vec4(col, 1.0);
}
