// High-quality Bayer demosaic after RCD (Ratio Corrected Demosaicing, L. Sanz Rodríguez 2017) with a
// colour-difference green estimate and a 3×3 median refinement of the colour differences.
// Five passes, one invocation per pixel; the CPU twin and the reasons are in
// engine/src/stages/demosaic_rcd.rs (same names, loop for loop).
//
// Intermediate planes cover the band's input rows (image rows y0 .. y0 + rows_in). Reads mirror at
// the image edges without repeating the edge pixel (which keeps the CFA colour) and clamp at the
// band edges; the rows that clamping spoils stay inside the band's halo.

struct Params {
    width: u32,
    rows_in: u32,   // rows in the input buffer (and in every intermediate plane)
    y0: u32,        // image row of input row 0
    height: u32,    // image height, for the mirror at the bottom edge
    out_y0: u32,    // image row of output row 0
    out_rows: u32,  // rows to produce
    cfa: u32,       // colour of each 2×2 position, 2 bits each (0 R, 1 G, 2 B)
    _pad: u32,
}

const EPS: f32 = 1e-5;
const EPS_SQ: f32 = 1e-10;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mosaic: array<f32>;

// Pass 1 writes, passes 2-4 read: (vertical / (vertical + horizontal), P / (P + Q)) activity.
@group(0) @binding(2) var<storage, read_write> dirs_out: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> dirs: array<vec2<f32>>;
// Pass 2 writes, passes 3-4 read: green everywhere.
@group(0) @binding(3) var<storage, read_write> green_out: array<f32>;
@group(0) @binding(3) var<storage, read> green: array<f32>;
// Pass 3 writes, pass 4 reads: blue at red sites, red at blue sites.
@group(0) @binding(4) var<storage, read_write> opposite_out: array<f32>;
@group(0) @binding(4) var<storage, read> opposite: array<f32>;
// Pass 4 writes, pass 5 reads: (R - G, B - G) everywhere.
@group(0) @binding(5) var<storage, read_write> diffs_out: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> diffs: array<vec2<f32>>;
// Pass 5 writes: f16 RGBA (pack2x16float), alpha = 1.
@group(0) @binding(3) var<storage, read_write> out: array<vec2<u32>>;

fn color_at(x: i32, y: i32) -> u32 {
    return (p.cfa >> (u32((y & 1) * 2 + (x & 1)) * 2u)) & 3u;
}

fn m(x: i32, y: i32) -> f32 { return mosaic[band_index(x, y)]; }
fn g(x: i32, y: i32) -> f32 { return green[band_index(x, y)]; }

// Band pixel of this invocation: (x, image row), or false when outside the band.
fn band_pixel(id: vec3<u32>, q: ptr<function, vec2<i32>>) -> bool {
    *q = vec2<i32>(i32(id.x), i32(p.y0 + id.y));
    return id.x < p.width && id.y < p.rows_in;
}

// Squared response of the zero-sum high-pass (1, -3, -1, 6, -1, -3, 1) along (dx, dy).
fn hp(x: i32, y: i32, dx: i32, dy: i32) -> f32 {
    let r = (m(x - 3 * dx, y - 3 * dy) + m(x + 3 * dx, y + 3 * dy))
        - 3.0 * (m(x - 2 * dx, y - 2 * dy) + m(x + 2 * dx, y + 2 * dy))
        - (m(x - dx, y - dy) + m(x + dx, y + dy))
        + 6.0 * m(x, y);
    return r * r;
}

@compute @workgroup_size(16, 16)
fn rcd_directions(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let v = EPS_SQ + hp(x, y - 1, 0, 1) + hp(x, y, 0, 1) + hp(x, y + 1, 0, 1);
    let h = EPS_SQ + hp(x - 1, y, 1, 0) + hp(x, y, 1, 0) + hp(x + 1, y, 1, 0);
    let pp = EPS_SQ + hp(x - 1, y - 1, 1, 1) + hp(x, y, 1, 1) + hp(x + 1, y + 1, 1, 1);
    let qq = EPS_SQ + hp(x + 1, y - 1, -1, 1) + hp(x, y, -1, 1) + hp(x - 1, y + 1, -1, 1);
    dirs_out[band_index(x, y)] = vec2<f32>(v / (v + h), pp / (pp + qq));
}

// The direction ratio to use: the pixel's own, or its diagonal neighbours' mean when more decided.
fn decided(x: i32, y: i32, k: u32) -> f32 {
    let centre = dirs[band_index(x, y)][k];
    let around = 0.25 * (dirs[band_index(x - 1, y - 1)][k] + dirs[band_index(x + 1, y - 1)][k]
        + dirs[band_index(x - 1, y + 1)][k] + dirs[band_index(x + 1, y + 1)][k]);
    if (abs(0.5 - centre) < abs(0.5 - around)) {
        return around;
    }
    return centre;
}

// Gradient towards side (dx, dy): the neighbour pair across, and three steps outwards.
fn green_grad(x: i32, y: i32, dx: i32, dy: i32) -> f32 {
    return EPS + abs(m(x + dx, y + dy) - m(x - dx, y - dy))
        + abs(m(x, y) - m(x + 2 * dx, y + 2 * dy))
        + abs(m(x + dx, y + dy) - m(x + 3 * dx, y + 3 * dy))
        + abs(m(x + 2 * dx, y + 2 * dy) - m(x + 4 * dx, y + 4 * dy));
}

// The neighbour's green plus half this colour's step towards that side.
fn green_est(x: i32, y: i32, dx: i32, dy: i32) -> f32 {
    return m(x + dx, y + dy) + 0.5 * (m(x, y) - m(x + 2 * dx, y + 2 * dy));
}

@compute @workgroup_size(16, 16)
fn rcd_green(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let i = band_index(x, y);
    if (color_at(x, y) == 1u) {
        green_out[i] = mosaic[i];
        return;
    }
    let gn = green_grad(x, y, 0, -1);
    let gs = green_grad(x, y, 0, 1);
    let gw = green_grad(x, y, -1, 0);
    let ge = green_grad(x, y, 1, 0);
    let v_est = (gs * green_est(x, y, 0, -1) + gn * green_est(x, y, 0, 1)) / (gn + gs);
    let h_est = (ge * green_est(x, y, -1, 0) + gw * green_est(x, y, 1, 0)) / (ge + gw);
    let vh = decided(x, y, 0u);
    green_out[i] = vh * h_est + (1.0 - vh) * v_est;
}

fn diagonal_grad(x: i32, y: i32, dx: i32, dy: i32) -> f32 {
    return EPS + abs(m(x + dx, y + dy) - m(x - dx, y - dy))
        + abs(m(x + dx, y + dy) - m(x + 3 * dx, y + 3 * dy))
        + abs(g(x, y) - g(x + 2 * dx, y + 2 * dy));
}

fn diagonal_diff(x: i32, y: i32, dx: i32, dy: i32) -> f32 {
    return m(x + dx, y + dy) - g(x + dx, y + dy);
}

@compute @workgroup_size(16, 16)
fn rcd_rb_diagonal(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let i = band_index(x, y);
    if (color_at(x, y) == 1u) {
        opposite_out[i] = 0.0;
        return;
    }
    let nw = diagonal_grad(x, y, -1, -1);
    let ne = diagonal_grad(x, y, 1, -1);
    let sw = diagonal_grad(x, y, -1, 1);
    let se = diagonal_grad(x, y, 1, 1);
    let p_est = (nw * diagonal_diff(x, y, 1, 1) + se * diagonal_diff(x, y, -1, -1)) / (nw + se);
    let q_est = (ne * diagonal_diff(x, y, -1, 1) + sw * diagonal_diff(x, y, 1, -1)) / (ne + sw);
    let pq = decided(x, y, 1u);
    opposite_out[i] = g(x, y) + (1.0 - pq) * p_est + pq * q_est;
}

// Red or blue (`want`) at a red/blue site: the mosaic if that is its colour, else pass 3's.
fn rb_value(want: u32, x: i32, y: i32) -> f32 {
    if (color_at(x, y) == want) {
        return m(x, y);
    }
    return opposite[band_index(x, y)];
}

fn cardinal_grad(want: u32, x: i32, y: i32, dx: i32, dy: i32) -> f32 {
    let v1 = rb_value(want, x + dx, y + dy);
    return EPS + abs(g(x, y) - g(x + 2 * dx, y + 2 * dy))
        + abs(v1 - rb_value(want, x - dx, y - dy))
        + abs(v1 - rb_value(want, x + 3 * dx, y + 3 * dy));
}

fn cardinal_diff(want: u32, x: i32, y: i32, dx: i32, dy: i32) -> f32 {
    return rb_value(want, x + dx, y + dy) - g(x + dx, y + dy);
}

@compute @workgroup_size(16, 16)
fn rcd_rb_cardinal(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let c = color_at(x, y);
    let g0 = g(x, y);
    var rgb = vec3<f32>(0.0, g0, 0.0);
    if (c != 1u) {
        rgb[c] = m(x, y);
        rgb[2u - c] = opposite[band_index(x, y)];
    } else {
        let vh = decided(x, y, 0u);
        for (var want = 0u; want <= 2u; want += 2u) {
            let gn = cardinal_grad(want, x, y, 0, -1);
            let gs = cardinal_grad(want, x, y, 0, 1);
            let gw = cardinal_grad(want, x, y, -1, 0);
            let ge = cardinal_grad(want, x, y, 1, 0);
            let v_est = (gn * cardinal_diff(want, x, y, 0, 1) + gs * cardinal_diff(want, x, y, 0, -1)) / (gn + gs);
            let h_est = (gw * cardinal_diff(want, x, y, 1, 0) + ge * cardinal_diff(want, x, y, -1, 0)) / (gw + ge);
            rgb[want] = g0 + (1.0 - vh) * v_est + vh * h_est;
        }
    }
    diffs_out[band_index(x, y)] = vec2<f32>(rgb.r - g0, rgb.b - g0);
}

// Last pass: the 3×3 median of the colour differences (`median_refined`, in
// demosaic_common.wgsl, which is prepended to this file).
@compute @workgroup_size(16, 16)
fn demosaic_rcd(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.out_rows) { return; }
    let x = i32(id.x);
    let y = i32(p.out_y0 + id.y);
    let rgb = median_refined(x, y, color_at(x, y));
    out[id.y * p.width + id.x] = vec2<u32>(pack2x16float(rgb.rg), pack2x16float(vec2<f32>(rgb.b, 1.0)));
}
