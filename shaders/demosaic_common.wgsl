// Shared by the high-quality demosaics (demosaic_rcd.wgsl for Bayer, demosaic_xtrans.wgsl for
// X-Trans), which this file is prepended to: how their band planes are read, and their last pass,
// a 3×3 median of the colour differences anchored on the mosaic's own sample. Each family defines
// `p` (width, height, y0, rows_in), `diffs` (R − G, B − G per band pixel) and `m` (the mosaic
// sample), the names used here.

// Mirror at the image edges without repeating the edge pixel (which keeps the CFA colour).
fn mirror(v: i32, n: i32) -> i32 {
    var m = abs(v);
    if (m >= n) { m = 2 * n - 2 - m; }
    return clamp(m, 0, n - 1);
}

// Index of image pixel (x, y) in a band plane: mirrored at image edges, clamped at band edges.
fn band_index(x: i32, y: i32) -> u32 {
    let gx = mirror(x, i32(p.width));
    let gy = mirror(y, i32(p.height));
    let row = clamp(gy - i32(p.y0), 0, i32(p.rows_in) - 1);
    return u32(row) * p.width + u32(gx);
}


// Sort two entries of the nine so that v[a] <= v[b].
fn order(v: ptr<function, array<f32, 9>>, a: u32, b: u32) {
    let lo = min((*v)[a], (*v)[b]);
    let hi = max((*v)[a], (*v)[b]);
    (*v)[a] = lo;
    (*v)[b] = hi;
}

// Median of nine with the 19-exchange network (Paeth; Devillard's opt_med9): the median ends in v[4].
fn median9(v: ptr<function, array<f32, 9>>) -> f32 {
    order(v, 1u, 2u); order(v, 4u, 5u); order(v, 7u, 8u);
    order(v, 0u, 1u); order(v, 3u, 4u); order(v, 6u, 7u);
    order(v, 1u, 2u); order(v, 4u, 5u); order(v, 7u, 8u);
    order(v, 0u, 3u); order(v, 5u, 8u); order(v, 4u, 7u);
    order(v, 3u, 6u); order(v, 1u, 4u); order(v, 2u, 5u);
    order(v, 4u, 7u); order(v, 4u, 2u); order(v, 6u, 4u);
    order(v, 4u, 2u);
    return (*v)[4];
}

// RGB at image pixel (x, y), whose own sample has colour c (0 R, 1 G, 2 B), from the 3×3 medians
// of the colour differences around it.
fn median_refined(x: i32, y: i32, c: u32) -> vec3<f32> {
    var rg: array<f32, 9>;
    var bg: array<f32, 9>;
    for (var j = 0; j < 9; j++) {
        let d = diffs[band_index(x + j % 3 - 1, y + j / 3 - 1)];
        rg[j] = d.x;
        bg[j] = d.y;
    }
    let rg_med = median9(&rg);
    let bg_med = median9(&bg);
    let s = m(x, y);
    var gv = s;
    if (c == 0u) { gv = s - rg_med; }
    if (c == 2u) { gv = s - bg_med; }
    return vec3<f32>(gv + rg_med, gv, gv + bg_med);
}
