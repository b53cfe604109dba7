// procmem prelude: helpers shared by every program (library and generated).
// Names are stable: programs and the grammar call them. Add, do not rename.
const float PI = 3.14159265359;
const float TAU = 6.28318530718;

mat2 rot2(float a) { float c = cos(a), s = sin(a); return mat2(c, -s, s, c); }

// Hashes without sin() precision problems (Dave Hoskins, "Hash without Sine", MIT).
float hash11(float p) { p = fract(p * 0.1031); p *= p + 33.33; p *= p + p; return fract(p); }
float hash12(vec2 p) { vec3 p3 = fract(vec3(p.xyx) * 0.1031); p3 += dot(p3, p3.yzx + 33.33); return fract((p3.x + p3.y) * p3.z); }
vec2 hash22(vec2 p) { vec3 p3 = fract(vec3(p.xyx) * vec3(0.1031, 0.1030, 0.0973)); p3 += dot(p3, p3.yzx + 33.33); return fract((p3.xx + p3.yz) * p3.zy); }
vec3 hash32(vec2 p) { vec3 p3 = fract(vec3(p.xyx) * vec3(0.1031, 0.1030, 0.0973)); p3 += dot(p3, p3.yxz + 33.33); return fract((p3.xxy + p3.yzz) * p3.zyx); }

// Value noise in [0, 1] with smooth interpolation.
float vnoise(vec2 p) {
    vec2 i = floor(p), f = fract(p);
    vec2 u = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash12(i), hash12(i + vec2(1, 0)), u.x),
               mix(hash12(i + vec2(0, 1)), hash12(i + vec2(1, 1)), u.x), u.y);
}

// Fractal Brownian motion of value noise, `oct` octaves (<= 8), result in about [0, 1].
float fbm(vec2 p, int oct) {
    float s = 0.0, a = 0.5;
    for (int i = 0; i < 8; i++) {
        if (i >= oct) break;
        s += a * vnoise(p);
        p = rot2(0.5) * p * 2.03 + 17.1;
        a *= 0.5;
    }
    return s / (1.0 - pow(0.5, float(oct)));
}

// Cosine colour palette (Inigo Quilez): a + b * cos(TAU * (c * t + d)).
vec3 palette(float t, vec3 a, vec3 b, vec3 c, vec3 d) { return a + b * cos(TAU * (c * t + d)); }

vec3 hsv2rgb(vec3 c) {
    vec3 p = abs(fract(c.xxx + vec3(1.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0);
    return c.z * mix(vec3(1.0), clamp(p - 1.0, 0.0, 1.0), c.y);
}

// Relative luminance (Rec. 709 weights).
float luma(vec3 c) { return dot(c, vec3(0.2126, 0.7152, 0.0722)); }

// RGB to HSV, all in [0, 1], without branches on the hue sector (inverse of hsv2rgb).
vec3 rgb2hsv(vec3 c) {
    vec4 k = vec4(0.0, -1.0 / 3.0, 2.0 / 3.0, -1.0);
    vec4 p = c.g < c.b ? vec4(c.bg, k.wz) : vec4(c.gb, k.xy);
    vec4 q = c.r < p.x ? vec4(p.xyw, c.r) : vec4(c.r, p.yzx);
    float d = q.x - min(q.w, q.y);
    return vec3(abs(q.z + (q.w - q.y) / (6.0 * d + 1e-10)), d / (q.x + 1e-10), q.x);
}

// Cosine palette whose phases and frequencies come from params P(k)..P(k+3), k <= 12,
// so one program yields many colour schemes from the same structure.
vec3 ppal(float t, int k) {
    vec3 c = mix(vec3(0.6), vec3(1.4, 1.0, 0.7), P(k + 3));
    return palette(t, vec3(0.5), vec3(0.5), c, vec3(P(k), P(k + 1), P(k + 2)));
}

// ---- noise ----
// Perlin gradient noise (Perlin 2002: lattice gradients, quintic fade) with its analytic
// derivatives: x = value in about [-1, 1], yz = d/dx, d/dy (curl fields, bump lighting).
vec3 gnoised(vec2 p) {
    vec2 i = floor(p), f = fract(p);
    vec2 u = f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
    vec2 du = 30.0 * f * f * (f * (f - 2.0) + 1.0);
    vec2 ga = hash22(i) * 2.0 - 1.0, gb = hash22(i + vec2(1, 0)) * 2.0 - 1.0;
    vec2 gc = hash22(i + vec2(0, 1)) * 2.0 - 1.0, gd = hash22(i + vec2(1, 1)) * 2.0 - 1.0;
    float va = dot(ga, f), vb = dot(gb, f - vec2(1, 0));
    float vc = dot(gc, f - vec2(0, 1)), vd = dot(gd, f - vec2(1, 1));
    float k = va - vb - vc + vd;
    float v = va + u.x * (vb - va) + u.y * (vc - va) + u.x * u.y * k;
    vec2 d = ga + u.x * (gb - ga) + u.y * (gc - ga) + u.x * u.y * (ga - gb - gc + gd)
           + du * (vec2(vb - va, vc - va) + k * u.yx);
    return vec3(v, d) * 1.2;
}

// Perlin gradient noise in about [-1, 1].
float gnoise(vec2 p) { return gnoised(p).x; }

// 2D simplex noise in about [-1, 1] (Perlin 2001; skew factors as in Gustavson 2005).
float snoise(vec2 p) {
    const float F2 = 0.366025404, G2 = 0.211324865;
    vec2 i = floor(p + (p.x + p.y) * F2);
    vec2 a = p - i + (i.x + i.y) * G2;
    vec2 o = a.x > a.y ? vec2(1, 0) : vec2(0, 1);
    vec2 b = a - o + G2, c = a - 1.0 + 2.0 * G2;
    vec3 h = max(0.5 - vec3(dot(a, a), dot(b, b), dot(c, c)), 0.0);
    vec3 n = h * h * h * h * vec3(dot(a, hash22(i) * 2.0 - 1.0),
                                  dot(b, hash22(i + o) * 2.0 - 1.0),
                                  dot(c, hash22(i + 1.0) * 2.0 - 1.0));
    return 60.0 * (n.x + n.y + n.z);
}

// Fractal sum of simplex noise, `oct` octaves (<= 8), result in about [-1, 1].
float sfbm(vec2 p, int oct) {
    float s = 0.0, a = 0.5;
    for (int i = 0; i < 8; i++) {
        if (i >= oct) break;
        s += a * snoise(p);
        p = rot2(0.6) * p * 2.02 + 31.7;
        a *= 0.5;
    }
    return s / (1.0 - pow(0.5, float(oct)));
}

// Ridged multifractal in [0, 1] (Musgrave 1994): sharp crests where noise crosses zero,
// each octave weighted by the previous one so ridges carry finer ridges.
float ridged(vec2 p, int oct) {
    float s = 0.0, a = 0.5, w = 1.0;
    for (int i = 0; i < 8; i++) {
        if (i >= oct) break;
        float r = 1.0 - abs(snoise(p));
        r *= r * w;
        w = clamp(r * 2.0, 0.0, 1.0);
        s += a * r;
        p = rot2(-0.4) * p * 2.05 + 11.3;
        a *= 0.5;
    }
    return s / (1.0 - pow(0.5, float(oct)));
}

// Curl of the gradient-noise stream function (Bridson et al. 2007): a divergence-free
// 2D velocity field (d psi/dy, -d psi/dx), cheap because the derivatives are analytic.
vec2 curl2(vec2 p) { vec2 d = gnoised(p).yz; return vec2(d.y, -d.x); }

// ---- cells ----
// Cellular noise (Worley 1996) over a 3x3 neighbourhood: x = F1, y = F2 (distances to the
// nearest and second-nearest feature points), z = nearest cell's id in [0, 1),
// w = second cell's id. `jitter` in [0, 1] moves points off the square grid.
vec4 voronoi(vec2 p, float jitter) {
    vec2 n = floor(p), f = fract(p);
    float d1 = 9.0, d2 = 9.0, id1 = 0.0, id2 = 0.0;
    for (int j = -1; j <= 1; j++) {
        for (int i = -1; i <= 1; i++) {
            vec2 g = vec2(i, j);
            vec2 r = g + jitter * hash22(n + g) + 0.5 * (1.0 - jitter) - f;
            float d = dot(r, r);
            float id = hash12(n + g + 71.3);
            if (d < d1) { d2 = d1; id2 = id1; d1 = d; id1 = id; }
            else if (d < d2) { d2 = d; id2 = id; }
        }
    }
    return vec4(sqrt(d1), sqrt(d2), id1, id2);
}

// Truchet tile of quarter-circle arcs (Smith 1987), each unit tile flipped at random:
// x = distance to the nearer of this tile's two arcs (<= 0.5), y = the tile's hash, zw = tile-local coords in [-0.5, 0.5].
vec4 truchet(vec2 p) {
    vec2 c = floor(p), f = fract(p) - 0.5;
    float h = hash12(c);
    if (h > 0.5) f.x = -f.x;
    float d = min(abs(length(f - 0.5) - 0.5), abs(length(f + 0.5) - 0.5));
    return vec4(d, h, f);
}

// ---- symmetry ----
// Fold p into one wedge of an n-fold mirror kaleidoscope (dihedral group D_n).
vec2 kaleido(vec2 p, float n) {
    float w = TAU / n;
    float a = abs(mod(atan(p.y, p.x), w) - 0.5 * w);
    return length(p) * vec2(cos(a), sin(a));
}

// Rotational repeat: fold p into one of n sectors around the origin (cyclic group C_n).
vec2 polarRepeat(vec2 p, float n) {
    float w = TAU / n;
    float a = mod(atan(p.y, p.x) + 0.5 * w, w) - 0.5 * w;
    return length(p) * vec2(cos(a), sin(a));
}

// ---- signed distance functions (exact unless noted) ----
float sdCircle(vec2 p, float r) { return length(p) - r; }
float sdBox2(vec2 p, vec2 b) { vec2 d = abs(p) - b; return length(max(d, 0.0)) + min(max(d.x, d.y), 0.0); }
float sdSegment(vec2 p, vec2 a, vec2 b) { vec2 pa = p - a, ba = b - a; return length(pa - ba * clamp(dot(pa, ba) / dot(ba, ba), 0.0, 1.0)); }
float sdSphere(vec3 p, float r) { return length(p) - r; }
float sdBox(vec3 p, vec3 b) { vec3 d = abs(p) - b; return length(max(d, 0.0)) + min(max(d.x, max(d.y, d.z)), 0.0); }
float sdTorus(vec3 p, vec2 t) { return length(vec2(length(p.xz) - t.x, p.y)) - t.y; }
float sdCapsule(vec3 p, vec3 a, vec3 b, float r) { vec3 pa = p - a, ba = b - a; return length(pa - ba * clamp(dot(pa, ba) / dot(ba, ba), 0.0, 1.0)) - r; }
// Octahedron, bound (not exact), cheap.
float sdOctahedron(vec3 p, float s) { p = abs(p); return (p.x + p.y + p.z - s) * 0.57735027; }
// Polynomial smooth minimum with blend radius k (Quilez 2013, "smooth minimum").
float smin(float a, float b, float k) { float h = clamp(0.5 + 0.5 * (b - a) / k, 0.0, 1.0); return mix(b, a, h) - k * h * (1.0 - h); }
// Domain repetition with period c (cells centred on multiples of c).
vec3 opRep(vec3 p, vec3 c) { return mod(p + 0.5 * c, c) - 0.5 * c; }

// Camera basis looking from ro at ta; ray = camera(ro, ta) * normalize(vec3(uv, focal)).
mat3 camera(vec3 ro, vec3 ta) {
    vec3 w = normalize(ta - ro), u = normalize(cross(w, vec3(0.0, 1.0, 0.0))), v = cross(u, w);
    return mat3(u, v, w);
}

// Sphere tracing toolkit (Hart 1996) for a scene `float MAP(vec3)` defined by the program:
// write `SDF_TOOLKIT(map)` after it to get
//   float sdfMarch(ro, rd, tmax)  distance along the ray to the surface, or -1 (<= 48 steps);
//   vec3 sdfNormal(p)             surface normal by central tetrahedron differences;
//   float sdfShadow(p, l, tmax)   soft shadow factor in [0, 1] (<= 16 steps, penumbra k = 8);
//   float sdfAO(p, n)             ambient occlusion from 4 samples along the normal.
#define SDF_TOOLKIT(MAP) \
float sdfMarch(vec3 ro, vec3 rd, float tmax) { \
    float t = 0.0; \
    for (int i = 0; i < 48; i++) { \
        float d = MAP(ro + rd * t); \
        if (d < 0.001 * t + 0.001) return t; \
        t += d; \
        if (t > tmax) break; \
    } \
    return -1.0; \
} \
vec3 sdfNormal(vec3 p) { \
    const vec2 k = vec2(1.0, -1.0) * 0.0015; \
    return normalize(k.xyy * MAP(p + k.xyy) + k.yyx * MAP(p + k.yyx) + \
                     k.yxy * MAP(p + k.yxy) + k.xxx * MAP(p + k.xxx)); \
} \
float sdfShadow(vec3 p, vec3 l, float tmax) { \
    float s = 1.0, t = 0.02; \
    for (int i = 0; i < 16; i++) { \
        float d = MAP(p + l * t); \
        s = min(s, 8.0 * d / t); \
        t += clamp(d, 0.02, 0.3); \
        if (s < 0.01 || t > tmax) break; \
    } \
    return clamp(s, 0.0, 1.0); \
} \
float sdfAO(vec3 p, vec3 n) { \
    float o = 0.0; \
    for (int i = 1; i <= 4; i++) { float h = 0.06 * float(i); o += (h - MAP(p + n * h)) / float(i); } \
    return clamp(1.0 - 2.5 * o, 0.0, 1.0); \
}

// ---- complex numbers as vec2 (x = real, y = imaginary) ----
vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
vec2 cdiv(vec2 a, vec2 b) { return vec2(a.x * b.x + a.y * b.y, a.y * b.x - a.x * b.y) / dot(b, b); }
vec2 csqr(vec2 z) { return vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y); }

// ---- lattices ----
// Hexagonal lattice of unit spacing (pointy-top cells): xy = p relative to its cell's centre,
// zw = that centre (a stable cell id). Nearest of two offset rectangular lattices.
vec4 hexCell(vec2 p) {
    const vec2 s = vec2(1.0, 1.7320508);
    vec2 a = mod(p, s) - 0.5 * s, b = mod(p - 0.5 * s, s) - 0.5 * s;
    vec2 h = dot(a, a) < dot(b, b) ? a : b;
    return vec4(h, p - h);
}

// ---- grammar building blocks (owned by shaders/grammar.py; add below this line) ----
// Repeat the plane: k cells per unit, each cell mapped back onto [-1, 1]^2.
vec2 gr_tile(vec2 p, float k) { return fract(p * k * 0.5 + 0.5) * 2.0 - 1.0; }
// Fisheye onto a sphere of radius r (orthographic back-projection); outside, a flat rim.
vec2 gr_sphere(vec2 p, float r) { float d = min(length(p) / r, 0.999); return p * asin(d) / (d * 1.5708 + 1e-4); }
// Ground-plane perspective: rows recede to a horizon; h bounds the depth (no infinity).
vec2 gr_plane(vec2 p, float h) { float z = 1.0 / (abs(p.y) + h); return vec2(p.x * z, z + sign(p.y)) * 0.6; }
// Distance from p to its hexagonal cell's centre in hex-norm, 0.5 on the cell edge.
float gr_hexdist(vec2 p) { vec2 h = abs(hexCell(p).xy); return max(dot(h, vec2(0.5, 0.8660254)), h.x); }
// Escape-time Julia set z <- z^2 + c, 32 iterations: smooth iteration count in [0, 1]
// (Douady-Hubbard potential normalisation), orbit-trap shading inside the set.
float gr_julia(vec2 z, vec2 c) {
    float trap = 9.0;
    for (int i = 0; i < 32; i++) {
        z = csqr(z) + c;
        float m = dot(z, z);
        trap = min(trap, m);
        if (m > 256.0) return sqrt(clamp((float(i) + 1.0 - log2(log2(m) * 0.5)) / 32.0, 0.0, 1.0));
    }
    return min(0.5 * sqrt(trap), 1.0);
}
