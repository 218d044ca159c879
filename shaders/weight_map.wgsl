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

@compute @workgroup_size(16, 16)
fn pyr_down_weight(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let ow = i32(p.other_width);
    let oh = i32(p.other_height);
    // The five columns once (mirrored at the borders), then each row's taps.
    var sx: array<u32, 5>;
    for (var kx = 0; kx < 5; kx++) {
        sx[kx] = u32(reflect101(2 * i32(id.x) + kx - 2, ow));
    }
    var acc = 0.0;
    for (var ky = -2; ky <= 2; ky++) {
        let row = u32(reflect101(2 * i32(id.y + p.row0) + ky, oh) - i32(p.other_row0)) * p.other_width;
        var r = 0.0;
        for (var kx = 0; kx < 5; kx++) {
            r += TAPS[kx] * src[row + sx[kx]];
        }
        acc += TAPS[ky + 2] * r;
    }
    dst[id.y * p.width + id.x] = acc;
}
