// family: voronoi
// tags: voronoi, bump, relief, pebbles
// description: Voronoi cells as lit pebbles: height from F1 gives a bump-mapped relief shaded by a moving light.
float relief(vec2 p, float j) { vec4 v = voronoi(p, j); return sqrt(clamp(1.0 - v.x * 1.4, 0.0, 1.0)) * smoothstep(0.0, 0.1, v.y - v.x); }

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.y;
    vec2 p = uv * mix(4.0, 10.0, P(0)) + vec2(P(1), P(2)) * 20.0;
    float j = mix(0.3, 1.0, P(3));
    float e = 0.02;
    float h = relief(p, j);
    vec2 grad = vec2(relief(p + vec2(e, 0.0), j) - h, relief(p + vec2(0.0, e), j) - h) / e;
    vec3 n = normalize(vec3(-grad * mix(0.2, 0.6, P(4)), 1.0));
    float la = P(5) * TAU + iTime * 0.3;
    vec3 l = normalize(vec3(cos(la), sin(la), 1.0));
    vec4 v = voronoi(p, j);
    vec3 alb = ppal(v.z, 8);
    float spec = pow(max(dot(reflect(-l, n), vec3(0.0, 0.0, 1.0)), 0.0), 24.0);
    vec3 col = alb * (0.25 + 0.85 * max(dot(n, l), 0.0)) + 0.4 * spec;
    fragColor = vec4(col, 1.0);
}
