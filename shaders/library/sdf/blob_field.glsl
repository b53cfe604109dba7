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

// The blobs only; the floor y = -1 is intersected analytically (sphere tracing a plane at
// grazing angles takes many steps), so rays march only inside the blobs' bounding sphere.
float map(vec3 p) {
    float d = 1e3;
    for (int i = 0; i < 5; i++) {
        if (i >= blobCount) break;
        d = smin(d, sdSphere(p - blobs[i].xyz, blobs[i].w), blobK);
    }
    return d;
}
SDF_TOOLKIT(map)

// Soft shadow of the blobs, analytic per sphere instead of marched: the penumbra factor is
// the ray's clearance over each sphere divided by the distance travelled (k = 8, as in
// sdfShadow), ignoring the smooth-union bridges between spheres.
float blobShadow(vec3 p, vec3 l) {
    float s = 1.0;
    for (int i = 0; i < 5; i++) {
        if (i >= blobCount) break;
        vec3 oc = blobs[i].xyz - p;
        float b = dot(oc, l);
        if (b > 0.0) s = min(s, 8.0 * (length(oc - b * l) - blobs[i].w) / b);
    }
    return clamp(s, 0.0, 1.0);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;
    setupBlobs();
    float a = P(6) * TAU + iTime * 0.1;
    vec3 ro = vec3(3.5 * sin(a), mix(0.2, 2.5, P(7)), 3.5 * cos(a));
    vec3 rd = camera(ro, vec3(0.0)) * normalize(vec3(uv, 1.8));
    vec3 sky = ppal(0.2 + 0.3 * uv.y, 8);
    vec3 col = sky;
    float tFloor = rd.y < 0.0 ? (-1.0 - ro.y) / rd.y : 1e3;
    // march from where the ray enters the bounding sphere (radius 2.4) to where it leaves
    float b = dot(ro, rd), disc = b * b - dot(ro, ro) + 5.76;
    float t = -1.0, t0 = 0.0;
    if (disc > 0.0) {
        t0 = max(-b - sqrt(disc), 0.0);
        t = sdfMarch(ro + rd * t0, rd, min(-b + sqrt(disc), tFloor) - t0);
    }
    bool hitBlob = t > 0.0;
    t = hitBlob ? t + t0 : tFloor;
    if (t < 1e3) {
        vec3 p = ro + rd * t, n = hitBlob ? sdfNormal(p) : vec3(0.0, 1.0, 0.0);
        vec3 l = normalize(vec3(cos(P(12) * TAU), 1.2, sin(P(12) * TAU)));
        // occlusion comes from the blobs only: skip it far from their bounding sphere
        float near = length(p) - 2.4;
        float dif = max(dot(n, l), 0.0) * blobShadow(p + n * 0.01, l);
        float ao = near > 0.3 ? 1.0 : sdfAO(p, n);
        vec3 alb = hitBlob ? ppal(length(p) * 0.5 + P(13), 8)
                           : mix(vec3(0.2), vec3(0.8), mod(floor(p.x * 2.0) + floor(p.z * 2.0), 2.0));
        col = alb * (0.2 * ao + 0.9 * dif) + 0.3 * pow(max(dot(reflect(rd, n), l), 0.0), 16.0);
        col = mix(col, sky, 1.0 - exp(-0.01 * t * t));
    }
    fragColor = vec4(pow(col, vec3(0.4545)), 1.0);
}
