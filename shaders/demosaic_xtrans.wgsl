// X-Trans demosaicing (6×6 layout, any phase): the same-colour average baseline and a
// Markesteijn-class method (directional green, colour differences per direction, choice by
// homogeneity). One invocation per pixel; the CPU twins and the reasons are in
// engine/src/stages/demosaic_xtrans.rs (same names, loop for loop).
//
// Neighbours are found by the colour of the site actually read: reads mirror at the image edges
// (x = -1 reads x = 1, a site of another colour in X-Trans) and clamp at band edges, whose spoilt
// rows stay inside the band's halo. Intermediate planes cover the band's input rows.

struct Params {
    width: u32,
    rows_in: u32,   // rows in the input buffer (and in every intermediate plane)
    y0: u32,        // image row of input row 0
    height: u32,    // image height, for the mirror at the bottom edge
    out_y0: u32,    // image row of output row 0
    out_rows: u32,  // rows to produce
    _pad0: u32,
    _pad1: u32,
    pattern: vec4<u32>, // the 6×6 layout, 2 bits per site: site i = y·6 + x in word i / 12
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mosaic: array<f32>;

// Baseline output: f16 RGBA, alpha = 1.
@group(0) @binding(2) var<storage, read_write> out_bilinear: array<vec2<u32>>;
// Pass 1 writes (binding 2), passes 2, 3, 5 read (binding 2, 1, 1): green per direction.
@group(0) @binding(2) var<storage, read_write> green_out: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> green: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> green1: array<vec4<f32>>;
// Pass 2 writes, passes 3 and 5 read: (R, B) per direction, two vec4 per pixel.
@group(0) @binding(3) var<storage, read_write> rb_out: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> rb: array<vec4<f32>>;
// Pass 3 writes, pass 4 reads: squared second derivative per direction.
@group(0) @binding(3) var<storage, read_write> drv_out: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> drv: array<vec4<f32>>;
// Pass 4 writes (binding 2), pass 5 reads (binding 3): homogeneity per direction.
@group(0) @binding(2) var<storage, read_write> homo_out: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> homo: array<vec4<f32>>;
// Pass 5 writes (binding 4), pass 6 reads (binding 2): (R − G, B − G).
@group(0) @binding(4) var<storage, read_write> diffs_out: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> diffs: array<vec2<f32>>;
// Pass 6 writes: f16 RGBA, alpha = 1.
@group(0) @binding(3) var<storage, read_write> out_median: array<vec2<u32>>;

// Horizontal, vertical, diagonal ↘, diagonal ↗.
const DIRS = array<vec2<i32>, 4>(vec2<i32>(1, 0), vec2<i32>(0, 1), vec2<i32>(1, 1), vec2<i32>(1, -1));

// Colour of the site that (x, y) reads: the mirrored one's.
fn color(x: i32, y: i32) -> u32 {
    let gx = u32(mirror(x, i32(p.width)));
    let gy = u32(mirror(y, i32(p.height)));
    let i = (gy % 6u) * 6u + gx % 6u;
    return (p.pattern[i / 12u] >> (2u * (i % 12u))) & 3u;
}

fn m(x: i32, y: i32) -> f32 { return mosaic[band_index(x, y)]; }

fn pack(rgb: vec3<f32>) -> vec2<u32> {
    return vec2<u32>(pack2x16float(rgb.rg), pack2x16float(vec2<f32>(rgb.b, 1.0)));
}

// Band pixel of this invocation: (x, image row), or false when outside the band.
fn band_pixel(id: vec3<u32>, q: ptr<function, vec2<i32>>) -> bool {
    *q = vec2<i32>(i32(id.x), i32(p.y0 + id.y));
    return id.x < p.width && id.y < p.rows_in;
}

// Output pixel of this invocation, or false when outside the output rows.
fn out_pixel(id: vec3<u32>, q: ptr<function, vec2<i32>>) -> bool {
    *q = vec2<i32>(i32(id.x), i32(p.out_y0 + id.y));
    return id.x < p.width && id.y < p.out_rows;
}

@compute @workgroup_size(16, 16)
fn xtrans_bilinear(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!out_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    var sum3 = vec3<f32>(0.0);
    var n3 = vec3<f32>(0.0);
    var sum5 = vec3<f32>(0.0);
    var n5 = vec3<f32>(0.0);
    for (var dy = -2; dy <= 2; dy++) {
        for (var dx = -2; dx <= 2; dx++) {
            let c = color(x + dx, y + dy);
            let v = m(x + dx, y + dy);
            sum5[c] += v;
            n5[c] += 1.0;
            if (abs(dx) <= 1 && abs(dy) <= 1) {
                sum3[c] += v;
                n3[c] += 1.0;
            }
        }
    }
    var rgb = vec3<f32>(0.0);
    for (var c = 0u; c < 3u; c++) {
        if (n3[c] > 0.0) {
            rgb[c] = sum3[c] / n3[c];
        } else if (n5[c] > 0.0) {
            rgb[c] = sum5[c] / n5[c];
        }
    }
    rgb[color(x, y)] = m(x, y);
    out_bilinear[id.y * p.width + id.x] = pack(rgb);
}

@compute @workgroup_size(16, 16)
fn xt_green(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let i = id.y * p.width + id.x;
    let s = m(x, y);
    if (color(x, y) == 1u) {
        green_out[i] = vec4<f32>(s);
        return;
    }
    // The greens of the 3×3 neighbourhood bound every estimate.
    var lo = 3.4028235e38;
    var hi = -3.4028235e38;
    var n = 0u;
    for (var dy = -1; dy <= 1; dy++) {
        for (var dx = -1; dx <= 1; dx++) {
            if (color(x + dx, y + dy) == 1u) {
                let v = m(x + dx, y + dy);
                lo = min(lo, v);
                hi = max(hi, v);
                n += 1u;
            }
        }
    }
    if (n == 0u) {
        lo = s;
        hi = s;
    }
    var res = vec4<f32>(0.0);
    for (var d = 0u; d < 4u; d++) {
        let u = DIRS[d];
        // Nearest green on each side, up to 3 sites away (0: none).
        var ka = 0;
        var kb = 0;
        for (var k = 3; k >= 1; k--) {
            if (color(x + k * u.x, y + k * u.y) == 1u) { ka = k; }
            if (color(x - k * u.x, y - k * u.y) == 1u) { kb = k; }
        }
        var v: f32;
        if (ka == 1 && kb == 1 && color(x + 2 * u.x, y + 2 * u.y) == 1u
            && color(x - 2 * u.x, y - 2 * u.y) == 1u) {
            // Cubic (Lagrange) through the green pairs each side.
            v = (4.0 * (m(x + u.x, y + u.y) + m(x - u.x, y - u.y))
                - (m(x + 2 * u.x, y + 2 * u.y) + m(x - 2 * u.x, y - 2 * u.y))) / 6.0;
        } else if (ka > 0 && kb > 0) {
            v = (f32(kb) * m(x + ka * u.x, y + ka * u.y) + f32(ka) * m(x - kb * u.x, y - kb * u.y))
                / f32(ka + kb);
        } else if (ka > 0) {
            v = m(x + ka * u.x, y + ka * u.y);
        } else if (kb > 0) {
            v = m(x - kb * u.x, y - kb * u.y);
        } else {
            v = 0.5 * (lo + hi);
        }
        res[d] = clamp(v, lo, hi);
    }
    green_out[i] = res;
}

@compute @workgroup_size(16, 16)
fn xt_rb(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let i = id.y * p.width + id.x;
    let c0 = color(x, y);
    let g0 = green[band_index(x, y)];
    // Colour differences of the red and blue samples in the 5×5, weighted 4 on each direction's
    // line through the pixel, 2 elsewhere in the 3×3, 1 beyond. One walk over the neighbours
    // serves all four directions: slot 2d + k (k 0 red, 1 blue) is vec4 slot / 4, lane slot % 4.
    var sum = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    var wsum = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    for (var dy = -2; dy <= 2; dy++) {
        for (var dx = -2; dx <= 2; dx++) {
            let c = color(x + dx, y + dy);
            if (c == 1u || c == c0) { continue; }
            let k = c / 2u;
            let v = m(x + dx, y + dy);
            let gq = green[band_index(x + dx, y + dy)];
            let near = abs(dx) <= 1 && abs(dy) <= 1;
            for (var d = 0u; d < 4u; d++) {
                let u = DIRS[d];
                var w = 1.0;
                if (dx * u.y == dy * u.x) { w = 4.0; } else if (near) { w = 2.0; }
                let slot = 2u * d + k;
                sum[slot / 4u][slot % 4u] += w * (v - gq[d]);
                wsum[slot / 4u][slot % 4u] += w;
            }
        }
    }
    var res = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    for (var d = 0u; d < 4u; d++) {
        for (var k = 0u; k < 2u; k++) {
            let slot = 2u * d + k;
            let ws = wsum[slot / 4u][slot % 4u];
            var v = g0[d];
            if (c0 == 2u * k) {
                v = m(x, y);
            } else if (ws > 0.0) {
                v = g0[d] + sum[slot / 4u][slot % 4u] / ws;
            }
            res[slot / 4u][slot % 4u] = v;
        }
    }
    rb_out[2u * i] = res[0];
    rb_out[2u * i + 1u] = res[1];
}

fn ypbpr(c: vec3<f32>) -> vec3<f32> {
    let y = 0.2627 * c.r + 0.678 * c.g + 0.0593 * c.b;
    return vec3<f32>(y, 0.56433 * (c.b - y), 0.67815 * (c.r - y));
}

// RGB of direction d at (x, y): green from binding 1, (R, B) from binding 2.
fn rgb_dir(x: i32, y: i32, d: u32) -> vec3<f32> {
    let j = band_index(x, y);
    let slot = 2u * d;
    let v = rb[2u * j + slot / 4u];
    let k = slot % 4u;
    return vec3<f32>(v[k], green1[j][d], v[k + 1u]);
}

@compute @workgroup_size(16, 16)
fn xt_derivative(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    var res = vec4<f32>(0.0);
    for (var d = 0u; d < 4u; d++) {
        let u = DIRS[d];
        let a = ypbpr(rgb_dir(x - u.x, y - u.y, d));
        let b = ypbpr(rgb_dir(x, y, d));
        let c = ypbpr(rgb_dir(x + u.x, y + u.y, d));
        var s = 0.0;
        for (var k = 0u; k < 3u; k++) {
            let t = 2.0 * b[k] - a[k] - c[k];
            s += t * t;
        }
        res[d] = s;
    }
    drv_out[id.y * p.width + id.x] = res;
}

@compute @workgroup_size(16, 16)
fn xt_homogeneity(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let own = drv[band_index(x, y)];
    let limit = 8.0 * min(min(own[0], own[1]), min(own[2], own[3]));
    var res = vec4<f32>(0.0);
    for (var dy = -1; dy <= 1; dy++) {
        for (var dx = -1; dx <= 1; dx++) {
            let v = drv[band_index(x + dx, y + dy)];
            for (var d = 0u; d < 4u; d++) {
                if (v[d] <= limit) { res[d] += 1.0; }
            }
        }
    }
    homo_out[id.y * p.width + id.x] = res;
}

@compute @workgroup_size(16, 16)
fn xt_select(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    var hm = vec4<f32>(0.0);
    for (var dy = -2; dy <= 2; dy++) {
        for (var dx = -2; dx <= 2; dx++) {
            hm += homo[band_index(x + dx, y + dy)];
        }
    }
    let best = max(max(hm[0], hm[1]), max(hm[2], hm[3]));
    let keep = best - best / 8.0;
    var rgb = vec3<f32>(0.0);
    var n = 0.0;
    for (var d = 0u; d < 4u; d++) {
        if (hm[d] >= keep) {
            rgb += rgb_dir(x, y, d);
            n += 1.0;
        }
    }
    rgb = rgb / n;
    diffs_out[id.y * p.width + id.x] = vec2<f32>(rgb.r - rgb.g, rgb.b - rgb.g);
}

// Last pass: the 3×3 median of the colour differences (`median_refined`, in
// demosaic_common.wgsl, which is prepended to this file).
@compute @workgroup_size(16, 16)
fn demosaic_xtrans(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!out_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    out_median[id.y * p.width + id.x] = pack(median_refined(x, y, color(x, y)));
}
