// Alignment, HDR+-style: a gray image from 2×2 Bayer quads (or 3×3 X-Trans windows), a Gaussian pyramid, per-level tile
// search (L2 on coarse levels, L1 at the finest) seeded by candidates carried from the coarser
// level, and a Lucas-Kanade sub-pixel refinement. Also the gradient energy that picks the
// sharpest frame as reference.
//
// Tiles: TILE×TILE pixels at a stride of TILE/2, tile i starting at pixel STRIDE·i − STRIDE, so
// tiles overlap by half and the first one sticks out by half a tile: at the finest level (gray =
// one pixel per Bayer quad) these are exactly the merge tiles of each Bayer plane. Pixels outside
// the image repeat the edge. Motion vectors are in pixels of their level.
//
// Windows: frames larger than one binding are aligned a band of tile rows at a time. Rows are
// addressed in whole-image coordinates (clamped at the image's edges), then read from a buffer
// that holds the level's rows from `*_y0` on; tile rows likewise. The host sizes each window to
// everything the band's tiles reach (stages/align.rs, Window::for_tiles), so a band computes
// exactly what the whole image would.

// TILE, STRIDE, clamped_index and cubic_weights: tiles_common.wgsl (prepended).

struct GrayParams {
    width: u32,      // mosaic
    height: u32,
    gw: u32,         // gray = mosaic / 2 (Bayer) or (mosaic − 1) / 2 (X-Trans)
    gh: u32,
    black: vec4<f32>,
    inv_range: vec4<f32>,
    xtrans: vec3<u32>, // X-Trans: the 6×6 colours, 2 bits per site (site y·6 + x in word i / 12)
    is_xtrans: u32,
}

struct LevelParams {
    w_in: u32,       // whole levels
    h_in: u32,
    w_out: u32,
    h_out: u32,
    in_y0: u32,      // first row held by the input buffer
    out_y0: u32,     // first output row computed (first in the output buffer)
    out_rows: u32,   // output rows computed
    _pad: u32,
}

struct TileParams {
    width: u32,      // this level
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    coarse_x: u32,   // tiles of the coarser level (0 at the coarsest: start from zero motion)
    coarse_y: u32,
    radius: i32,     // search ± radius around the best candidate
    l1: u32,         // 1: L1 cost (finest level), 0: L2
    level_y0: u32,   // first level row held by the level buffers
    tile_y0: u32,    // first tile row computed (first in the motion buffer)
    tile_rows: u32,  // tile rows computed
    coarse_y0: u32,  // first tile row held by the coarse motion buffer
}

struct RefineParams {
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    iterations: u32,
    level_y0: u32,   // as in TileParams
    tile_y0: u32,
    tile_rows: u32,
}

// ---- gray from Bayer quads -------------------------------------------------------------------

@group(0) @binding(0) var<uniform> gp: GrayParams;
@group(0) @binding(1) var<storage, read> raw: array<u32>;
@group(0) @binding(2) var<storage, read_write> gray_out: array<f32>;

fn sensor(x: u32, y: u32) -> f32 {
    let i = y * gp.width + x;
    let v = f32((raw[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu);
    let pos = (y & 1u) * 2u + (x & 1u);
    return (v - gp.black[pos]) * gp.inv_range[pos];
}

// The mean of a quad: every colour in it once (G twice), so it is a luminance-like signal at
// half resolution with no CFA pattern left to confuse the search.
@compute @workgroup_size(16, 16)
fn gray_from_quads(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= gp.gw || id.y >= gp.gh) {
        return;
    }
    let x = 2u * id.x;
    let y = 2u * id.y;
    gray_out[id.y * gp.gw + id.x] =
        0.25 * ((sensor(x, y) + sensor(x + 1u, y)) + (sensor(x, y + 1u) + sensor(x + 1u, y + 1u)));
}

// Colour (0 R, 1 G, 2 B) of X-Trans site (x, y).
fn xtrans_color(x: u32, y: u32) -> u32 {
    let i = (y % 6u) * 6u + x % 6u;
    return (gp.xtrans[i / 12u] >> (2u * (i % 12u))) & 3u;
}

// X-Trans has no 2×2 quads, but every 3×3 window of its 6×6 pattern holds all three colours
// (5 G, and 1–3 each of R and B): the mean of each colour in the window, mixed as a quad mixes
// them (R + 2G + B) / 4, is a luminance-like signal whatever the phase of the pattern and the
// counts in the window. Windows overlap (stride 2, as Bayer quads): at half resolution the
// sub-pixel search is as fine as Bayer's (a third, with disjoint 3×3 cells, left the mean
// end-point error at 0.3 px on kodim05).
@compute @workgroup_size(16, 16)
fn gray_from_xtrans(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= gp.gw || id.y >= gp.gh) {
        return;
    }
    var sum = vec3<f32>(0.0);
    var n = vec3<f32>(0.0);
    for (var dy = 0u; dy < 3u; dy++) {
        for (var dx = 0u; dx < 3u; dx++) {
            let x = 2u * id.x + dx;
            let y = 2u * id.y + dy;
            let c = xtrans_color(x, y);
            sum[c] += sensor(x, y);
            n[c] += 1.0;
        }
    }
    let m = sum / n;
    gray_out[id.y * gp.gw + id.x] = 0.25 * (m.x + 2.0 * m.y + m.z);
}

// ---- pyramid ---------------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> lp: LevelParams;
@group(0) @binding(1) var<storage, read> level_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> level_out: array<f32>;

// Binomial [1 3 3 1]/8 in both directions, centred between input pixels 2x and 2x+1: output
// pixel x sits at input position 2x + 0.5, so a motion of m output pixels is 2m input pixels.
@compute @workgroup_size(16, 16)
fn downsample(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= lp.w_out || id.y >= lp.out_rows) {
        return;
    }
    let oy = i32(id.y + lp.out_y0);
    let k = array<f32, 4>(0.125, 0.375, 0.375, 0.125);
    var acc = 0.0;
    for (var j = 0; j < 4; j++) {
        let y = clamp(2 * oy + j - 1, 0, i32(lp.h_in) - 1) - i32(lp.in_y0);
        var row = 0.0;
        for (var i = 0; i < 4; i++) {
            let x = clamp(2 * i32(id.x) + i - 1, 0, i32(lp.w_in) - 1);
            row += k[i] * level_in[u32(y) * lp.w_in + u32(x)];
        }
        acc += k[j] * row;
    }
    level_out[id.y * lp.w_out + id.x] = acc;
}

// ---- tile search -----------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> tp: TileParams;
@group(0) @binding(1) var<storage, read> ref_level: array<f32>;
@group(0) @binding(2) var<storage, read> alt_level: array<f32>;
@group(0) @binding(3) var<storage, read> coarse_motion: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> motion: array<vec2<f32>>;

// Index in the level buffers of pixel (x, y), edges repeated.
fn level_index(x: i32, y: i32) -> u32 {
    return clamped_index(x, y, tp.width, tp.height, tp.level_y0);
}

fn tile_cost(ox: i32, oy: i32, d: vec2<i32>) -> f32 {
    var cost = 0.0;
    for (var v = 0; v < TILE; v++) {
        var row = 0.0;
        for (var u = 0; u < TILE; u++) {
            let e = alt_level[level_index(ox + u + d.x, oy + v + d.y)]
                - ref_level[level_index(ox + u, oy + v)];
            if (tp.l1 == 1u) {
                row += abs(e);
            } else {
                row += e * e;
            }
        }
        cost += row;
    }
    return cost;
}

// The coarser level's motion of coarse tile (cx, cy), clamped to the grid, in this level's pixels.
fn carried(cx: i32, cy: i32) -> vec2<i32> {
    let x = clamp(cx, 0, i32(tp.coarse_x) - 1);
    let y = u32(clamp(cy, 0, i32(tp.coarse_y) - 1)) - tp.coarse_y0;
    return 2 * vec2<i32>(round(coarse_motion[y * tp.coarse_x + u32(x)]));
}

@compute @workgroup_size(8, 8)
fn align_tiles(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= tp.tiles_x || id.y >= tp.tile_rows) {
        return;
    }
    let ty = id.y + tp.tile_y0;
    let ox = STRIDE * i32(id.x) - STRIDE;
    let oy = STRIDE * i32(ty) - STRIDE;
    // Candidates from the coarser level: the motions of the coarse tile nearest this tile's
    // centre and of its eight neighbours (a tile straddling two motions gets both, and one whose
    // coarse tile went astray gets its neighbours' answer).
    var best = vec2<i32>(0, 0);
    var best_cost = 3.4e38;
    if (tp.coarse_x == 0u) {
        best_cost = tile_cost(ox, oy, best);
    } else {
        // Tile centres: this level 8i (minus half a pixel), coarse level 4i of its pixels.
        let c2 = vec2<f32>(4.0 * f32(id.x), 4.0 * f32(ty));
        let near = vec2<i32>(round(c2 / 8.0));
        for (var j = -1; j <= 1; j++) {
            for (var i = -1; i <= 1; i++) {
                let cand = carried(near.x + i, near.y + j);
                let cost = tile_cost(ox, oy, cand);
                if (cost < best_cost) {
                    best_cost = cost;
                    best = cand;
                }
            }
        }
    }
    let centre = best;
    for (var dy = -tp.radius; dy <= tp.radius; dy++) {
        for (var dx = -tp.radius; dx <= tp.radius; dx++) {
            let d = centre + vec2<i32>(dx, dy);
            let cost = tile_cost(ox, oy, d);
            if (cost < best_cost) {
                best_cost = cost;
                best = d;
            }
        }
    }
    motion[id.y * tp.tiles_x + id.x] = vec2<f32>(best);
}

// ---- sub-pixel refinement --------------------------------------------------------------------

@group(0) @binding(0) var<uniform> rp: RefineParams;
@group(0) @binding(1) var<storage, read> ref_gray: array<f32>;
@group(0) @binding(2) var<storage, read> alt_gray: array<f32>;
@group(0) @binding(3) var<storage, read_write> fine_motion: array<vec2<f32>>;

// Index in the finest level's buffers of pixel (x, y), edges repeated.
fn gray_index(x: i32, y: i32) -> u32 {
    return clamped_index(x, y, rp.width, rp.height, rp.level_y0);
}

fn ref_px(x: i32, y: i32) -> f32 {
    return ref_gray[gray_index(x, y)];
}

fn alt_px(x: i32, y: i32) -> f32 {
    return alt_gray[gray_index(x, y)];
}

// Central differences of the reference.
fn ref_gradient(x: i32, y: i32) -> vec2<f32> {
    return 0.5 * vec2<f32>(ref_px(x + 1, y) - ref_px(x - 1, y), ref_px(x, y + 1) - ref_px(x, y - 1));
}

// Catmull-Rom: bilinear sampling would low-pass the alternate by an amount that depends on the
// fractional offset, which pulls the estimate towards whole pixels.
fn alt_bicubic(p: vec2<f32>) -> f32 {
    let f = floor(p);
    let wx = cubic_weights(p.x - f.x);
    let wy = cubic_weights(p.y - f.y);
    let x = i32(f.x);
    let y = i32(f.y);
    var acc = 0.0;
    for (var j = 0; j < 4; j++) {
        let row = wx.x * alt_px(x - 1, y + j - 1) + wx.y * alt_px(x, y + j - 1)
            + wx.z * alt_px(x + 1, y + j - 1) + wx.w * alt_px(x + 2, y + j - 1);
        acc += wy[j] * row;
    }
    return acc;
}

// Lucas-Kanade on the tile: solve (Σ g gᵀ) δ = −Σ g e with g the reference gradient and e the
// difference of the bicubically sampled alternate, a few times. The integer search leaves at most
// half a pixel to find; a tile without texture in some direction (singular system) keeps its
// integer motion, and the refinement may move at most one pixel from it.
@compute @workgroup_size(8, 8)
fn align_refine(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= rp.tiles_x || id.y >= rp.tile_rows) {
        return;
    }
    let t = id.y * rp.tiles_x + id.x;
    let ox = STRIDE * i32(id.x) - STRIDE;
    let oy = STRIDE * i32(id.y + rp.tile_y0) - STRIDE;
    let start = fine_motion[t];
    var m = start;
    // The structure tensor does not depend on the motion: accumulate it once.
    var gxx = 0.0;
    var gxy = 0.0;
    var gyy = 0.0;
    for (var v = 0; v < TILE; v++) {
        for (var u = 0; u < TILE; u++) {
            let g = ref_gradient(ox + u, oy + v);
            gxx += g.x * g.x;
            gxy += g.x * g.y;
            gyy += g.y * g.y;
        }
    }
    let det = gxx * gyy - gxy * gxy;
    let trace = gxx + gyy;
    if (det <= 1e-4 * trace * trace || trace <= 0.0) {
        return;
    }
    for (var it = 0u; it < rp.iterations; it++) {
        var bx = 0.0;
        var by = 0.0;
        for (var v = 0; v < TILE; v++) {
            for (var u = 0; u < TILE; u++) {
                let x = ox + u;
                let y = oy + v;
                let g = ref_gradient(x, y);
                let e = alt_bicubic(vec2<f32>(f32(x), f32(y)) + m) - ref_px(x, y);
                bx += g.x * e;
                by += g.y * e;
            }
        }
        let delta = vec2<f32>(gxy * by - gyy * bx, gxy * bx - gxx * by) / det;
        m = clamp(m + delta, start - vec2<f32>(1.0), start + vec2<f32>(1.0));
    }
    fine_motion[t] = m;
}

// ---- sharpness -------------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> sp: LevelParams;
@group(0) @binding(1) var<storage, read> sharp_gray: array<f32>;
@group(0) @binding(2) var<storage, read_write> row_energy: array<f32>;

// Sum over each row of the squared forward differences: the gradient energy of the gray image,
// summed per row here and over rows on the CPU (a few hundred numbers). Rows out_y0.. of a gray
// image (h_in rows) whose buffer holds rows from in_y0.
@compute @workgroup_size(64)
fn gradient_energy(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= sp.out_rows) {
        return;
    }
    let y = id.x + sp.out_y0;
    let row = (y - sp.in_y0) * sp.w_in;
    let row1 = (min(y + 1u, sp.h_in - 1u) - sp.in_y0) * sp.w_in;
    var acc = 0.0;
    for (var x = 0u; x < sp.w_in; x++) {
        let x1 = min(x + 1u, sp.w_in - 1u);
        let c = sharp_gray[row + x];
        let dx = sharp_gray[row + x1] - c;
        let dy = sharp_gray[row1 + x] - c;
        acc += dx * dx + dy * dy;
    }
    row_energy[id.x] = acc;
}
