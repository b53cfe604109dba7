// family: interference
// tags: standing-waves, chladni, nodal-lines, modes
// description: Chladni figures: nodal lines of a sum of square-plate standing-wave modes cos(n pi x) cos(m pi y) -/+ cos(m pi x) cos(n pi y).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    uv = rot2(floor(P(0) * 4.0) * PI * 0.25) * uv * mix(0.7, 1.0, P(1));
    float n = floor(mix(1.0, 9.0, P(2))), m = floor(mix(1.0, 9.0, P(3)));
    float s = P(4) < 0.5 ? -1.0 : 1.0;
    if (n == m && s < 0.0) m += 1.0;  // the antisymmetric sum of a mode with itself is zero
    float mode = cos(n * PI * uv.x) * cos(m * PI * uv.y) + s * cos(m * PI * uv.x) * cos(n * PI * uv.y);
    float n2 = floor(mix(1.0, 6.0, P(5)));
    mode += mix(0.0, 0.8, P(6)) * sin(iTime * 0.5) * cos(n2 * PI * uv.x) * cos((n2 + 1.0) * PI * uv.y);
    float nodal = smoothstep(mix(0.05, 0.3, P(7)), 0.0, abs(mode));
    vec3 col = ppal(0.2 * mode + 0.5, 8) * 0.5;
    col = mix(col, ppal(0.1 * length(uv), 12), nodal);
    fragColor = vec4(col, 1.0);
}
