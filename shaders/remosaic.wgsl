// Remosaic: a Quad Bayer (block 2, 4×4 repeat) or Nonacell (block 3, 6×6 repeat) mosaic → a
// full-resolution standard Bayer mosaic of the same phase, which the normal demosaic then takes.
// Two passes, one invocation per pixel; the CPU twin and the reasons are in
// engine/src/stages/remosaic.rs (same names, loop for loop).
//
// Planes cover the band's input rows (image rows y0 .. y0 + rows). Reads outside the image or the
// band step back by whole CFA periods (2·block), which keeps the colour; the rows that the band
// edge spoils stay inside the remosaic halo.

struct Params {
    width: u32,
    rows: u32,     // rows in the band (input and both planes)
    y0: u32,       // image row of band row 0
    height: u32,   // image height
    block: u32,    // same-colour block side: 2 Quad Bayer, 3 Nonacell
    cfa: u32,      // Bayer layout of the blocks (and of the output), 2 bits per position
    _pad0: u32,
    _pad1: u32,
}

// Guards the inverse-gradient weights (values are on a [0, 1] scale).
const EPS: f32 = 1e-4;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mosaic: array<f32>;
// Pass 1 writes, pass 2 reads: green at every pixel.
@group(0) @binding(2) var<storage, read_write> green_out: array<f32>;
@group(0) @binding(2) var<storage, read> green: array<f32>;
// Pass 2 writes: the Bayer mosaic.
@group(0) @binding(3) var<storage, read_write> bayer: array<f32>;

// v moved into [lo, hi) by whole periods (same CFA colour); hi - lo is at least one period.
fn wrap(v: i32, lo: i32, hi: i32, period: i32) -> i32 {
    var r = v;
    if (r < lo) { r = r + ((lo - r + period - 1) / period) * period; }
    if (r >= hi) { r = r - ((r - hi) / period + 1) * period; }
    return r;
}

fn band_index(x: i32, y: i32) -> u32 {
    let period = 2 * i32(p.block);
    let lo = max(i32(p.y0), 0);
    let hi = i32(p.y0 + p.rows);
    let gx = wrap(x, 0, i32(p.width), period);
    let gy = wrap(y, lo, hi, period);
    return u32(gy - lo) * p.width + u32(gx);
}

fn bayer_color(x: i32, y: i32) -> u32 {
    return (p.cfa >> (u32((y & 1) * 2 + (x & 1)) * 2u)) & 3u;
}

// Colour of the block sensor at (x, y) (non-negative coordinates).
fn block_color(x: i32, y: i32) -> u32 {
    let b = i32(p.block);
    return bayer_color(x / b, y / b);
}

fn m(x: i32, y: i32) -> f32 { return mosaic[band_index(x, y)]; }
fn g(x: i32, y: i32) -> f32 { return green[band_index(x, y)]; }

// Band pixel of this invocation: (x, image row), or false when outside the band.
fn band_pixel(id: vec3<u32>, q: ptr<function, vec2<i32>>) -> bool {
    *q = vec2<i32>(i32(id.x), i32(p.y0 + id.y));
    return id.x < p.width && id.y < p.rows;
}

// Distance to the nearest green pixel from (x, y) along (dx, dy): at most one block away, since
// red and blue blocks touch green blocks on all four sides.
fn green_step(x: i32, y: i32, dx: i32, dy: i32) -> i32 {
    let b = i32(p.block);
    for (var k = 1; k <= b; k = k + 1) {
        let u = wrap(x + k * dx, 0, i32(p.width), 2 * b);
        let v = wrap(y + k * dy, 0, i32(p.height), 2 * b);
        if (block_color(u, v) == 1u) { return k; }
    }
    return b;
}

// Green at every pixel. At red and blue pixels: the nearest greens on either side, linearly
// interpolated along each axis, and the two axes blended by inverse gradients. The gradient of an
// axis adds the step between those greens and, on three lines, the steps between pixels one CFA
// period (2·block) apart, which are always the same colour.
@compute @workgroup_size(16, 16)
fn remosaic_green(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let i = band_index(x, y);
    if (block_color(x, y) == 1u) {
        green_out[i] = mosaic[i];
        return;
    }
    let b = i32(p.block);
    let dw = green_step(x, y, -1, 0);
    let de = green_step(x, y, 1, 0);
    let dn = green_step(x, y, 0, -1);
    let ds = green_step(x, y, 0, 1);
    let gw = m(x - dw, y);
    let ge = m(x + de, y);
    let gn = m(x, y - dn);
    let gs = m(x, y + ds);
    let h_est = (gw * f32(de) + ge * f32(dw)) / f32(dw + de);
    let v_est = (gn * f32(ds) + gs * f32(dn)) / f32(dn + ds);
    var h_grad = EPS + abs(gw - ge);
    var v_grad = EPS + abs(gn - gs);
    for (var j = -1; j <= 1; j = j + 1) {
        h_grad = h_grad + abs(m(x - b, y + j) - m(x + b, y + j));
        v_grad = v_grad + abs(m(x + j, y - b) - m(x + j, y + b));
    }
    green_out[i] = (h_est * v_grad + v_est * h_grad) / (h_grad + v_grad);
}

// The Bayer mosaic. Where the Bayer colour is the sensor's, its sample; green from pass 1; red or
// blue elsewhere as green plus the colour difference (C - G) of that colour's pixels within
// 2·block - 1, weighted by inverse squared distance and by how close their green is to this
// pixel's (so that colour does not bleed across edges).
@compute @workgroup_size(16, 16)
fn remosaic_bayer(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<i32>;
    if (!band_pixel(id, &q)) { return; }
    let x = q.x;
    let y = q.y;
    let i = band_index(x, y);
    let want = bayer_color(x, y);
    if (want == block_color(x, y)) {
        bayer[i] = mosaic[i];
        return;
    }
    let gc = green[i];
    if (want == 1u) {
        bayer[i] = gc;
        return;
    }
    let b = i32(p.block);
    let r = 2 * b - 1;
    var sum = 0.0;
    var weight = 0.0;
    for (var dy = -r; dy <= r; dy = dy + 1) {
        for (var dx = -r; dx <= r; dx = dx + 1) {
            let u = wrap(x + dx, 0, i32(p.width), 2 * b);
            let v = wrap(y + dy, 0, i32(p.height), 2 * b);
            if (block_color(u, v) != want) { continue; }
            let gq = g(x + dx, y + dy);
            let w = 1.0 / (f32(dx * dx + dy * dy) * (EPS + abs(gq - gc)));
            sum = sum + w * (m(x + dx, y + dy) - gq);
            weight = weight + w;
        }
    }
    bayer[i] = gc + sum / weight;
}
