// Weight maps of exposure fusion: sum over inputs, normalization, Gaussian pyramid.
// The pyramid uses the binomial 5-tap kernel and mirrored borders of fusion_common.wgsl.

// weight_sum_add: one input's weights; weight_normalize: the sum; pyr_down_weight: the finer level.
@group(0) @binding(1) var<storage, read> src: array<f32>;
// weight_sum_add: the sum; weight_normalize: one input's weights (in place); pyr_down_weight: coarser.
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(16, 16)
fn weight_sum_add(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    dst[i] = dst[i] + src[i];
}

@compute @workgroup_size(16, 16)
fn weight_normalize(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    dst[i] = dst[i] / src[i];
}

// A 2×2 block of the coarser level per invocation, as pyr_down_image.
@compute @workgroup_size(16, 16)
fn pyr_down_weight(@builtin(global_invocation_id) id: vec3<u32>) {
    let b = block_of(id);
    if (b.x0 >= p.width || b.r0 >= p.rows) {
        return;
    }
    let ow = i32(p.other_width);
    let oh = i32(p.other_height);
    let ncols = select(5, 7, b.second.x);
    var sx: array<u32, 7>;
    for (var k = 0; k < ncols; k++) {
        sx[k] = u32(reflect101(2 * i32(b.x0) + k - 2, ow));
    }
    var acc = vec4<f32>(0.0);
    let nrows = select(5, 7, b.second.y);
    let y2 = 2 * i32(b.r0 + p.row0);
    for (var k = 0; k < nrows; k++) {
        let row = u32(reflect101(y2 + k - 2, oh) - i32(p.other_row0)) * p.other_width;
        var h0 = 0.0;
        var h1 = 0.0;
        for (var t = 0; t < 5; t++) {
            h0 += TAPS[t] * src[row + sx[t]];
        }
        if (b.second.x) {
            for (var t = 0; t < 5; t++) {
                h1 += TAPS[t] * src[row + sx[t + 2]];
            }
        }
        if (k < 5) {
            acc.x += TAPS[k] * h0;
            acc.y += TAPS[k] * h1;
        }
        if (k >= 2) {
            acc.z += TAPS[k - 2] * h0;
            acc.w += TAPS[k - 2] * h1;
        }
    }
    for (var q = 0u; q < 4u; q++) {
        if (in_block(b, q)) {
            dst[(b.r0 + q / 2u) * p.width + b.x0 + (q & 1u)] = acc[q];
        }
    }
}
