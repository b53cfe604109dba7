// family: sdf
// tags: raymarch, smooth-union, soft-shadow, spheres
// description: Spheres melted together by smooth union over a floor, lit with soft shadows and ambient occlusion.
// Sphere centres and radii, computed once per pixel (not per march step) in setupBlobs().
vec4 blobs[5];
int blobCount;
float blobK;

void setupBlobs() {
    blobCount = 3 + int(P(0) * 3.0);
    blobK = mix(0.15, 0.6, P(1));
    for (int i = 0; i < 5; i++) {
        float fi = float(i);
        vec3 c = vec3(sin(fi * 2.4 + iTime * 0.3 + P(2) * TAU), 0.3 * cos(fi * 1.7 + iTime * 0.5),
                      cos(fi * 2.4 + P(3) * TAU)) * mix(0.6, 1.4, P(4));
        blobs[i] = vec4(c, 0.35 + 0.25 * hash11(fi + P(5) * 13.0));
    }
}

float map(vec3 p) {
    float d = p.y + 1.0;
    // bounding sphere around all blobs: far from it, its distance is a safe lower bound
    float bound = length(p) - 2.6;
    if (bound > 0.3) return min(d, bound);
    for (int i = 0; i < 5; i++) {
        if (i >= blobCount) break;
        d = smin(d, sdSphere(p - blobs[i].xyz, blobs[i].w), blobK);
    }
    return d;
}
SDF_TOOLKIT(map)

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    setupBlobs();
    float a = P(6) * TAU + iTime * 0.1;
    vec3 ro = vec3(3.5 * sin(a), mix(0.2, 2.5, P(7)), 3.5 * cos(a));
    vec3 rd = camera(ro, vec3(0.0)) * normalize(vec3(uv, 1.8));
    vec3 sky = ppal(0.2 + 0.3 * uv.y, 8);
    vec3 col = sky;
    float t = sdfMarch(ro, rd, 12.0);
    if (t > 0.0) {
        vec3 p = ro + rd * t, n = sdfNormal(p);
        vec3 l = normalize(vec3(cos(P(12) * TAU), 1.2, sin(P(12) * TAU)));
        float dif = max(dot(n, l), 0.0) * sdfShadow(p + n * 0.01, l, 6.0);
        float ao = sdfAO(p, n);
        vec3 alb = p.y < -0.99 ? mix(vec3(0.2), vec3(0.8), mod(floor(p.x * 2.0) + floor(p.z * 2.0), 2.0))
                               : ppal(length(p) * 0.5 + P(13), 8);
        col = alb * (0.2 * ao + 0.9 * dif) + 0.3 * pow(max(dot(reflect(rd, n), l), 0.0), 16.0);
        col = mix(col, sky, 1.0 - exp(-0.01 * t * t));
    }
    fragColor = vec4(pow(col, vec3(0.4545)), 1.0);
}
