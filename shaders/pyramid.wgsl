// Image pyramids for exposure fusion (Mertens, Kautz & Van Reeth 2007), built like Burt & Adelson's
// Laplacian pyramid: a 5-tap binomial kernel [1 4 6 4 1]/16, levels of ceil(w/2) × ceil(h/2) (no
// power-of-two assumption), borders mirrored without repeating the edge pixel (x = -1 reads x = 1).
//
// Up-sampling is written on the zero-stuffed grid of twice the coarser level's size, mirrored there
// and cropped to the finer level (which is one pixel smaller where the finer size is odd), so the
// taps that land on source pixels always sum to 1, and the results are those of OpenCV's pyrUp. The Laplacian level is
// `fine - up(coarser)` with this same up-sampling, which makes the collapse exact whatever the
// border rule.
//
// Gaussian levels (the inputs and their reductions, values in [0, 1]) are RGBA 16-bit unorm
// (pack2x16unorm): exact for 8- and 16-bit photos, and finer than f16 above 1/32. Fused levels
// are signed (Laplacian detail; collapsed values overshoot [0, 1] a little): RGBA 16-bit snorm of
// v/2, range [-2, 2] in steps of 6e-5. Not f16: its steps near 1 are 8 times coarser and its
// rounding is implementation-defined (GL and Vulkan drifted apart over ten levels). 8 bytes per
// pixel either way; arithmetic is f32.

// pyr_down_image: the finer level; blend_level and collapse_level: the coarser level.
@group(0) @binding(1) var<storage, read> src: array<vec2<u32>>;
// The level written: pyr_down_image: the coarser level; blend/collapse: the fused pyramid's level.
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<u32>>;
// blend_level: this level of the input's Gaussian pyramid.
@group(0) @binding(3) var<storage, read> fine: array<vec2<u32>>;
// blend_level: this level of the input's normalized weight pyramid.
@group(0) @binding(4) var<storage, read> weight: array<f32>;

// A fused level's pixel: v/2 as 16-bit snorm.
fn unpack(px: vec2<u32>) -> vec3<f32> {
    return 2.0 * vec3<f32>(unpack2x16snorm(px.x), unpack2x16snorm(px.y).x);
}

fn pack(rgb: vec3<f32>) -> vec2<u32> {
    return vec2<u32>(pack2x16snorm(0.5 * rgb.rg), pack2x16snorm(vec2<f32>(0.5 * rgb.b, 1.0)));
}

fn unpack_unorm(px: vec2<u32>) -> vec3<f32> {
    return vec3<f32>(unpack2x16unorm(px.x), unpack2x16unorm(px.y).x);
}

fn pack_unorm(rgb: vec3<f32>) -> vec2<u32> {
    return vec2<u32>(pack2x16unorm(rgb.rg), pack2x16unorm(vec2<f32>(rgb.b, 1.0)));
}

// The coarser level's pixel: a Gaussian level (unorm) when blending, a fused level when collapsing.
fn coarse_at(i: u32, gaussian: bool) -> vec3<f32> {
    if (gaussian) {
        return unpack_unorm(src[i]);
    }
    return unpack(src[i]);
}

// Up-sampling: of the kernel's five taps only those on even positions of the zero-stuffed grid
// carry a coarse pixel (mirroring keeps parity): three for an even x (coarse x/2 - 1 .. x/2 + 1,
// weights 1/8 3/4 1/8), two for an odd x ((x - 1)/2, (x + 1)/2, weights 1/2 1/2); each axis
// carries half of the ×4 (one pixel in four of the zero-stuffed grid holds a value). Both columns
// of a block fall within the three coarse columns from s = (x0 - 1) >> 1.
fn up_weights(x: i32, s: i32) -> vec3<f32> {
    if ((x & 1) == 0) {
        return vec3<f32>(0.125, 0.75, 0.125);
    }
    return select(vec3<f32>(0.0, 0.5, 0.5), vec3<f32>(0.5, 0.5, 0.0), (x - 1) / 2 == s);
}

// A coarse index mirrored as the zero-stuffed grid is (reflect101 there): c < 0 → -c,
// c ≥ n → 2n - 1 - c.
fn coarse_mirror(c: i32, n: i32) -> i32 {
    var m = c;
    if (m < 0) { m = -m; }
    if (m >= n) { m = 2 * n - 1 - m; }
    return clamp(m, 0, n - 1);
}

// The coarser level `src` (other_width × other_height) up-sampled to the block at (x0, y0) of
// this level (y0 in whole-level rows); `second`: whether the block's second column / row exists.
// Outputs in the order (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1).
fn upsample_block(x0: i32, y0: i32, second: vec2<bool>, gaussian: bool) -> array<vec3<f32>, 4> {
    let sx = (x0 - 1) >> 1;
    let sy = (y0 - 1) >> 1;
    let wx0 = up_weights(x0, sx);
    let wx1 = select(vec3<f32>(0.0), up_weights(x0 + 1, sx), second.x);
    let wy0 = up_weights(y0, sy);
    let wy1 = select(vec3<f32>(0.0), up_weights(y0 + 1, sy), second.y);
    let ow = i32(p.other_width);
    let oh = i32(p.other_height);
    var out = array<vec3<f32>, 4>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    for (var j = 0; j < 3; j++) {
        // Rows and columns no output of the block uses are not read (they may lie outside the
        // band's window).
        if (wy0[j] + wy1[j] == 0.0) { continue; }
        let row = u32(coarse_mirror(sy + j, oh) - i32(p.other_row0)) * p.other_width;
        for (var i = 0; i < 3; i++) {
            if (wx0[i] + wx1[i] == 0.0) { continue; }
            let c = coarse_at(row + u32(coarse_mirror(sx + i, ow)), gaussian);
            out[0] += (wy0[j] * wx0[i]) * c;
            out[1] += (wy0[j] * wx1[i]) * c;
            out[2] += (wy1[j] * wx0[i]) * c;
            out[3] += (wy1[j] * wx1[i]) * c;
        }
    }
    return out;
}

@compute @workgroup_size(16, 16)
fn pyr_down_image(@builtin(global_invocation_id) id: vec3<u32>) {
    let b = block_of(id);
    if (b.x0 >= p.width || b.r0 >= p.rows) {
        return;
    }
    var sx = reduce_columns(b);
    var acc = array<vec3<f32>, 4>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    for (var k = 0; k < reduce_rows(b); k++) {
        let row = reduce_row(b, k);
        // Each output's horizontal taps, in tap order.
        var h0 = vec3<f32>(0.0);
        var h1 = vec3<f32>(0.0);
        for (var t = 0; t < 5; t++) {
            h0 += TAPS[t] * unpack_unorm(src[row + sx[t]]);
            if (b.second.x) {
                h1 += TAPS[t] * unpack_unorm(src[row + sx[t + 2]]);
            }
        }
        let v = reduce_taps(k);
        acc[0] += v.x * h0;
        acc[1] += v.x * h1;
        acc[2] += v.y * h0;
        acc[3] += v.y * h1;
    }
    for (var q = 0u; q < 4u; q++) {
        if (in_block(b, q)) {
            dst[(b.r0 + q / 2u) * p.width + b.x0 + (q & 1u)] = pack_unorm(acc[q]);
        }
    }
}

// Adds one input's contribution to a level of the fused pyramid: weight × Laplacian.
@compute @workgroup_size(16, 16)
fn blend_level(@builtin(global_invocation_id) id: vec3<u32>) {
    let b = block_of(id);
    if (b.x0 >= p.width || b.r0 >= p.rows) {
        return;
    }
    var up = array<vec3<f32>, 4>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    if (p.top == 0u) {
        up = upsample_block(i32(b.x0), i32(b.r0 + p.row0), b.second, true);
    }
    for (var q = 0u; q < 4u; q++) {
        if (in_block(b, q)) {
            let i = (b.r0 + q / 2u) * p.width + b.x0 + (q & 1u);
            var lap = unpack_unorm(fine[i]);
            if (p.top == 0u) {
                lap -= up[q];
            }
            dst[i] = pack(unpack(dst[i]) + weight[i] * lap);
        }
    }
}

// Collapses one level: adds the up-sampled coarser (already collapsed) level.
@compute @workgroup_size(16, 16)
fn collapse_level(@builtin(global_invocation_id) id: vec3<u32>) {
    let b = block_of(id);
    if (b.x0 >= p.width || b.r0 >= p.rows) {
        return;
    }
    var up = upsample_block(i32(b.x0), i32(b.r0 + p.row0), b.second, false);
    for (var q = 0u; q < 4u; q++) {
        if (in_block(b, q)) {
            let i = (b.r0 + q / 2u) * p.width + b.x0 + (q & 1u);
            dst[i] = pack(unpack(dst[i]) + up[q]);
        }
    }
}
