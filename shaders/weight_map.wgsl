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
    var sx = reduce_columns(b);
    var acc = vec4<f32>(0.0);
    for (var k = 0; k < reduce_rows(b); k++) {
        let row = reduce_row(b, k);
        var h = vec2<f32>(0.0);
        for (var t = 0; t < 5; t++) {
            h.x += TAPS[t] * src[row + sx[t]];
            if (b.second.x) {
                h.y += TAPS[t] * src[row + sx[t + 2]];
            }
        }
        let v = reduce_taps(k);
        acc += vec4<f32>(v.x * h, v.y * h);
    }
    for (var q = 0u; q < 4u; q++) {
        if (in_block(b, q)) {
            dst[(b.r0 + q / 2u) * p.width + b.x0 + (q & 1u)] = acc[q];
        }
    }
}
