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
    var acc = 0.0;
    for (var ky = -2; ky <= 2; ky++) {
        let sy = reflect101(2 * i32(id.y + p.row0) + ky, oh) - i32(p.other_row0);
        for (var kx = -2; kx <= 2; kx++) {
            let sx = reflect101(2 * i32(id.x) + kx, ow);
            acc += TAPS[ky + 2] * TAPS[kx + 2] * src[u32(sy) * p.other_width + u32(sx)];
        }
    }
    dst[id.y * p.width + id.x] = acc;
}
