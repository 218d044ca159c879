// Weight maps of exposure fusion: sum over inputs, normalization, Gaussian pyramid.
// The pyramid uses the same binomial 5-tap kernel and mirrored borders as pyramid.wgsl.

struct Params {
    width: u32,        // the map this dispatch writes
    height: u32,
    other_width: u32,  // pyr_down_weight: the finer level it reads
    other_height: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// weight_sum_add: one input's weights; weight_normalize: the sum; pyr_down_weight: the finer level.
@group(0) @binding(1) var<storage, read> src: array<f32>;
// weight_sum_add: the sum; weight_normalize: one input's weights (in place); pyr_down_weight: coarser.
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const TAPS = array<f32, 5>(0.0625, 0.25, 0.375, 0.25, 0.0625);

fn reflect101(v: i32, n: i32) -> i32 {
    if (n == 1) {
        return 0;
    }
    var m = v;
    if (m < 0) { m = -m; }
    if (m >= n) { m = 2 * n - 2 - m; }
    if (m < 0) { m = -m; }
    return clamp(m, 0, n - 1);
}

@compute @workgroup_size(16, 16)
fn weight_sum_add(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.height) {
        return;
    }
    let i = id.y * p.width + id.x;
    dst[i] = dst[i] + src[i];
}

@compute @workgroup_size(16, 16)
fn weight_normalize(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.height) {
        return;
    }
    let i = id.y * p.width + id.x;
    dst[i] = dst[i] / src[i];
}

@compute @workgroup_size(16, 16)
fn pyr_down_weight(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.height) {
        return;
    }
    let ow = i32(p.other_width);
    let oh = i32(p.other_height);
    var acc = 0.0;
    for (var ky = -2; ky <= 2; ky++) {
        let sy = reflect101(2 * i32(id.y) + ky, oh);
        for (var kx = -2; kx <= 2; kx++) {
            let sx = reflect101(2 * i32(id.x) + kx, ow);
            acc += TAPS[ky + 2] * TAPS[kx + 2] * src[u32(sy) * p.other_width + u32(sx)];
        }
    }
    dst[id.y * p.width + id.x] = acc;
}
