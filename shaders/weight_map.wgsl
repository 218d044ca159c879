// Weight maps of exposure fusion: sum over inputs, normalization, Gaussian pyramid.
// The pyramid uses the binomial 5-tap kernel and mirrored borders of fusion_common.wgsl.

// weight_sum_add and weight_normalize: one input's weights; pyr_down_weight: the finer level.
@group(0) @binding(1) var<storage, read> src: array<f32>;
// weight_sum_add: the sum; weight_normalize: the input's normalized weights; pyr_down_weight:
// the coarser level.
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// weight_normalize: the sum of every input's weights.
@group(0) @binding(3) var<storage, read> total: array<f32>;

// The floor OpenCV's MergeMertens adds to every weight, so that the normalizing sum is never 0.
const FLOOR: f32 = 1e-12;

@compute @workgroup_size(16, 16)
fn weight_sum_add(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    dst[i] = dst[i] + src[i];
}

// One input's weight over the sum of all inputs' weights, each with the floor (k.x: how many
// inputs). `src` and `total` are bound from row other_row0 with two rows of halo; `dst` holds
// the band's rows. Where every input's weight is 0 (each exposure flat or exactly neutral there:
// Mertens' measures say nothing), k.y = 1 takes the weight from the pixels around that have one —
// the mean of their normalized weights over the 5×5 neighbourhood, the footprint of the pyramid's
// kernel — so a neutral patch follows the exposures chosen around it; with none of them there, or
// with k.y = 0, the floors decide: all inputs weigh the same (what OpenCV's MergeMertens does,
// but for its float rounding).
@compute @workgroup_size(16, 16)
fn weight_normalize(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let n = p.k.x;
    let x = i32(id.x);
    let y = i32(id.y + p.row0);
    let i = u32(y - i32(p.other_row0)) * p.width + id.x;
    var w = (src[i] + FLOOR) / (total[i] + n * FLOOR);
    if (total[i] == 0.0 && p.k.y != 0.0) {
        var acc = 0.0;
        var count = 0.0;
        for (var yy = max(y - 2, 0); yy <= min(y + 2, i32(p.height) - 1); yy++) {
            let row = u32(yy - i32(p.other_row0)) * p.width;
            for (var xx = max(x - 2, 0); xx <= min(x + 2, i32(p.width) - 1); xx++) {
                let j = row + u32(xx);
                if (total[j] > 0.0) {
                    acc += (src[j] + FLOOR) / (total[j] + n * FLOOR);
                    count += 1.0;
                }
            }
        }
        if (count > 0.0) {
            w = acc / count;
        }
    }
    dst[id.y * p.width + id.x] = w;
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
