// family: symmetry
// tags: hyperbolic, poincare-disk, triangle-group, inversion, tessellation
// description: A regular {p, q} tessellation of the hyperbolic plane in the Poincare disk, found by folding each point into the (p, q, 2) triangle with mirror lines and circle inversion.
// The triangle's third side is the circle orthogonal to the unit circle meeting the mirror at
// angle pi/p with angle pi/q: centre c = cos(pi/q) / sqrt(cos^2(pi/q) - sin^2(pi/p)), r^2 = c^2 - 1
// (Coxeter 1957, "Crystal symmetry and its generalizations").
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y * mix(0.45, 1.02, P(7));
    float p = floor(mix(3.0, 8.0, P(0)));
    float q = floor(mix(3.0, 8.0, P(1)));
    if (1.0 / p + 1.0 / q >= 0.5) q = 7.0;  // only hyperbolic pairs tile the disk
    float cq = cos(PI / q), sp = sin(PI / p);
    float c = cq / sqrt(cq * cq - sp * sp), r2 = c * c - 1.0;
    // a Mobius translation z -> (z - a) / (1 - conj(a) z) moves the view through the tiling
    vec2 a = 0.5 * vec2(cos(P(2) * TAU + 0.1 * iTime), sin(P(2) * TAU + 0.1 * iTime)) * P(3);
    vec2 z = cdiv(uv - a, vec2(1.0, 0.0) - cmul(vec2(a.x, -a.y), uv));
    float flips = 0.0;
    for (int i = 0; i < 24; i++) {
        z = kaleido(z, p);
        vec2 d = z - vec2(c, 0.0);
        float dd = dot(d, d);
        if (dd >= r2) break;
        z = vec2(c, 0.0) + d * (r2 / dd);
        flips += 1.0;
    }
    float edge = min(min(abs(z.y), abs(dot(z, vec2(-sin(PI / p), cos(PI / p))))), abs(length(z - vec2(c, 0.0)) - sqrt(r2)));
    float inDisk = step(dot(uv, uv), 1.0);
    float w = mix(0.005, 0.03, P(4)) * (1.0 - dot(uv, uv));
    vec3 col = ppal(mod(flips, 2.0) * mix(0.2, 0.5, P(5)) + 0.3 * length(z), 8);
    col *= 0.6 + 0.4 * smoothstep(0.0, 0.2, length(z));
    col = mix(col, ppal(0.9, 12) * 0.2, smoothstep(w, 0.0, edge) * step(0.3, P(6)));
    col = mix(ppal(0.5 + 0.2 * length(uv), 12) * 0.3, col, inDisk);
    fragColor = vec4(col, 1.0);
}
