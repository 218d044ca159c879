// Bayer demosaicing: bilinear and Malvar-He-Cutler 2004 (gradient-corrected linear interpolation).
//
// Each workgroup loads a 32×32 tile of the mosaic plus a 2-pixel halo into shared memory once, and
// each invocation then produces one 2×2 Bayer quad: the 5×5 stencils read shared memory instead of
// global memory, which is where the speed is on every GPU (and on lavapipe).
// Borders mirror without repeating the edge pixel (x = -1 reads x = 1), which keeps the CFA colour.
// Output: linear camera RGB as f16 (pack2x16float), 8 bytes per pixel, alpha = 1.

struct Params {
    width: u32,
    rows_in: u32,   // rows in the input buffer
    y0: u32,        // image row of input row 0
    height: u32,    // image height, for the mirror at the bottom edge
    out_y0: u32,    // image row of output row 0
    out_rows: u32,  // rows to produce
    cfa: u32,       // colour of each 2×2 position, 2 bits each (0 R, 1 G, 2 B)
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mosaic: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<u32>>;

const TILE: u32 = 32u;
const HALO: u32 = 2u;
const SIDE: u32 = 36u; // TILE + 2 * HALO
var<workgroup> tile: array<f32, 1296>; // SIDE * SIDE

fn mirror(v: i32, n: i32) -> i32 {
    var m = v;
    if (m < 0) { m = -m; }
    if (m >= n) { m = 2 * n - 2 - m; }
    return clamp(m, 0, n - 1);
}

fn color_at(x: u32, y: u32) -> u32 {
    return (p.cfa >> (((y & 1u) * 2u + (x & 1u)) * 2u)) & 3u;
}

// Mosaic value at offset (dx, dy) from local tile position (lx, ly) (both already include the halo).
fn s(lx: u32, ly: u32, dx: i32, dy: i32) -> f32 {
    return tile[u32(i32(ly) + dy) * SIDE + u32(i32(lx) + dx)];
}

fn load_tile(wg: vec2<u32>, li: u32) {
    let gx0 = i32(wg.x * TILE) - i32(HALO);
    let gy0 = i32(p.out_y0 + wg.y * TILE) - i32(HALO);
    for (var k = li; k < SIDE * SIDE; k += 256u) {
        let gx = mirror(gx0 + i32(k % SIDE), i32(p.width));
        let gy = mirror(gy0 + i32(k / SIDE), i32(p.height));
        let row = clamp(gy - i32(p.y0), 0, i32(p.rows_in) - 1);
        tile[k] = mosaic[u32(row) * p.width + u32(gx)];
    }
    workgroupBarrier();
}

// Bilinear: the average of the nearest samples of each missing colour.
fn bilinear_px(lx: u32, ly: u32, c: u32, h: u32) -> vec3<f32> {
    let c0 = s(lx, ly, 0, 0);
    var rgb = vec3<f32>(0.0);
    if (c == 1u) {
        let horiz = 0.5 * (s(lx, ly, -1, 0) + s(lx, ly, 1, 0));
        let vert = 0.5 * (s(lx, ly, 0, -1) + s(lx, ly, 0, 1));
        rgb[1] = c0;
        rgb[h] = horiz;
        rgb[2u - h] = vert;
    } else {
        rgb[c] = c0;
        rgb[1] = 0.25 * (s(lx, ly, -1, 0) + s(lx, ly, 1, 0) + s(lx, ly, 0, -1) + s(lx, ly, 0, 1));
        rgb[2u - c] = 0.25 * (s(lx, ly, -1, -1) + s(lx, ly, 1, -1) + s(lx, ly, -1, 1) + s(lx, ly, 1, 1));
    }
    return rgb;
}

// Malvar-He-Cutler: bilinear plus a Laplacian correction from the pixel's own colour
// (coefficients of the paper, in eighths).
fn mhc_px(lx: u32, ly: u32, c: u32, h: u32) -> vec3<f32> {
    let c0 = s(lx, ly, 0, 0);
    let cross1 = s(lx, ly, -1, 0) + s(lx, ly, 1, 0) + s(lx, ly, 0, -1) + s(lx, ly, 0, 1);
    let diag1 = s(lx, ly, -1, -1) + s(lx, ly, 1, -1) + s(lx, ly, -1, 1) + s(lx, ly, 1, 1);
    let h2 = s(lx, ly, -2, 0) + s(lx, ly, 2, 0);
    let v2 = s(lx, ly, 0, -2) + s(lx, ly, 0, 2);
    var rgb = vec3<f32>(0.0);
    if (c == 1u) {
        let h1 = s(lx, ly, -1, 0) + s(lx, ly, 1, 0);
        let v1 = s(lx, ly, 0, -1) + s(lx, ly, 0, 1);
        rgb[1] = c0;
        rgb[h] = (5.0 * c0 + 4.0 * h1 - h2 - diag1 + 0.5 * v2) / 8.0;
        rgb[2u - h] = (5.0 * c0 + 4.0 * v1 - v2 - diag1 + 0.5 * h2) / 8.0;
    } else {
        rgb[c] = c0;
        rgb[1] = (4.0 * c0 + 2.0 * cross1 - h2 - v2) / 8.0;
        rgb[2u - c] = (6.0 * c0 + 2.0 * diag1 - 1.5 * (h2 + v2)) / 8.0;
    }
    return rgb;
}

fn store(x: u32, y: u32, rgb: vec3<f32>) {
    if (x < p.width && y < p.out_y0 + p.out_rows) {
        out[(y - p.out_y0) * p.width + x] = vec2<u32>(pack2x16float(rgb.rg), pack2x16float(vec2<f32>(rgb.b, 1.0)));
    }
}

fn run(wg: vec2<u32>, lid: vec2<u32>, mhc: bool) {
    load_tile(wg, lid.y * 16u + lid.x);
    for (var q = 0u; q < 4u; q++) {
        let lx = lid.x * 2u + (q & 1u);
        let ly = lid.y * 2u + (q >> 1u);
        let x = wg.x * TILE + lx;
        let y = p.out_y0 + wg.y * TILE + ly;
        let c = color_at(x, y);
        let h = color_at(x + 1u, y); // for green: the colour of the horizontal neighbours
        var rgb: vec3<f32>;
        if (mhc) {
            rgb = mhc_px(lx + HALO, ly + HALO, c, h);
        } else {
            rgb = bilinear_px(lx + HALO, ly + HALO, c, h);
        }
        store(x, y, rgb);
    }
}

@compute @workgroup_size(16, 16)
fn demosaic_bilinear(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    run(wg.xy, lid.xy, false);
}

@compute @workgroup_size(16, 16)
fn demosaic_mhc(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    run(wg.xy, lid.xy, true);
}
