// family: tiling
// tags: girih, star-polygon, islamic, lattice, lines
// description: Star-and-polygon lattice in the manner of Islamic geometric patterns: lines at fixed angles through each cell's mirror-folded fundamental region, interlaced by offset.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = rot2(P(0) * 0.8) * uv * mix(2.0, 6.0, P(1)) + iTime * 0.03;
    vec2 cell = floor(p);
    vec2 f = abs(fract(p) - 0.5);
    if (f.y > f.x) f = f.yx;
    // lines at +-angle through a point on the cell edge make the star's rays
    float ang = mix(PI / 8.0, 3.0 * PI / 8.0, P(2));
    vec2 n1 = vec2(sin(ang), -cos(ang));
    float off = mix(0.1, 0.45, P(3));
    float l1 = abs(dot(f - vec2(0.5, off), n1));
    float l2 = abs(dot(f - vec2(off, 0.0), vec2(-n1.y, n1.x)));
    float l3 = abs(f.x - f.y) * 0.7071;
    float w = mix(0.015, 0.05, P(4));
    float lines = min(min(l1, l2), mix(1.0, l3, step(0.5, P(5))));
    float band = smoothstep(w, w * 0.5, lines);
    float outline = smoothstep(w * 1.6, w * 1.3, lines) - band;
    float region = step(dot(f, n1), dot(vec2(0.5, off), n1)) + step(f.x + f.y, 0.5 + off);
    vec3 col = ppal(region * 0.25 + hash12(cell) * P(6) * 0.3, 8) * 0.8;
    col = mix(col, vec3(0.05), outline);
    col = mix(col, ppal(0.8, 12), band);
    fragColor = vec4(col, 1.0);
}
