// White-balance statistics: grey-world sums of the linear camera RGB image (demosaiced, before
// white balance), over every `step`-th pixel in x and y. A pixel is left out when any channel of
// it or of its 8 neighbours reaches `clip` (clipped highlights and the demosaic's false colours
// around them) or when its brightest channel is below `dark` (noise and black-level error).
// Each workgroup reduces its pixels in shared memory and writes one partial (ΣR, ΣG, ΣB, count)
// to its own slot: WGSL has no float atomics, so the host adds the partials (few hundred).

struct Params {
    width: u32,
    rows: u32,
    step: u32,
    first_row: u32, // first sampled row of this band: image rows on the same grid in every band
    clip: f32,
    dark: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec4<f32>>;

var<workgroup> acc: array<vec4<f32>, 256>;

fn rgb_at(x: u32, y: u32) -> vec3<f32> {
    let px = img[y * p.width + x];
    return vec3<f32>(unpack2x16float(px.x), unpack2x16float(px.y).x);
}

@compute @workgroup_size(16, 16)
fn wb_sums(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    var sum = vec4<f32>(0.0);
    let x = id.x * p.step;
    let y = p.first_row + id.y * p.step;
    if (x < p.width && y < p.rows) {
        let c = rgb_at(x, y);
        var ok = max(c.r, max(c.g, c.b)) >= p.dark;
        for (var dy = -1; dy <= 1; dy++) {
            for (var dx = -1; dx <= 1; dx++) {
                let u = clamp(i32(x) + dx, 0, i32(p.width) - 1);
                let v = clamp(i32(y) + dy, 0, i32(p.rows) - 1);
                let n = rgb_at(u32(u), u32(v));
                if (max(n.r, max(n.g, n.b)) >= p.clip) {
                    ok = false;
                }
            }
        }
        if (ok) {
            sum = vec4<f32>(c, 1.0);
        }
    }
    acc[li] = sum;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            acc[li] = acc[li] + acc[li + s];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        partials[wg.y * groups.x + wg.x] = acc[0];
    }
}
