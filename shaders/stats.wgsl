// Luminance histogram for automatic exposure: 256 bins of log2(Y), 16 per stop from 2^-16 to 1,
// over every `step`-th pixel in x and y (a 1/16 sample is plenty for exposure statistics).
// Each workgroup counts into shared memory first, then adds its bins to the global histogram once,
// so global atomics are touched 256 times per workgroup instead of once per pixel.

struct Params {
    width: u32,
    rows: u32,
    step: u32,
    first_row: u32, // first sampled row of this band: image rows on the same grid in every band
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> bins: array<atomic<u32>, 256>;

var<workgroup> local_bins: array<atomic<u32>, 256>;

@compute @workgroup_size(16, 16)
fn histogram(@builtin(global_invocation_id) id: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    atomicStore(&local_bins[li], 0u);
    workgroupBarrier();
    let x = id.x * p.step;
    let y = p.first_row + id.y * p.step;
    if (x < p.width && y < p.rows) {
        let px = img[y * p.width + x];
        let rgb = vec3<f32>(unpack2x16float(px.x), unpack2x16float(px.y).x);
        let y = dot(rgb, vec3<f32>(0.2126, 0.7152, 0.0722));
        let bin = u32(clamp(floor((log2(max(y, 1e-9)) + 16.0) * 16.0), 0.0, 255.0));
        atomicAdd(&local_bins[bin], 1u);
    }
    workgroupBarrier();
    let n = atomicLoad(&local_bins[li]);
    if (n != 0u) {
        atomicAdd(&bins[li], n);
    }
}
