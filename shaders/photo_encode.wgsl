// Bursts of finished photos (photo_burst.rs) merge as a mosaic in which each pixel is one RGGB
// quad of linear light (R, G, G, B): this kernel turns the merged mosaic back into the input's
// encoding: R, the mean of the two G, B of each quad, clamped to [0, 1], the sRGB OETF, 8- or
// 16-bit values packed like tone.wgsl's output. No tone curve: the photos were finished already.

struct Params {
    pixels: u32, // pixels in this band of the output
    stride: u32, // invocations per dispatch row (2-D dispatch of a 1-D job)
    bits: u32,   // 8 or 16: the scale of the output values
    width: u32,  // output pixels per row (the mosaic has twice as many)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> merged: array<f32>; // the band's mosaic rows, linear
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn encode(i: u32) -> vec3<u32> {
    let x = i % p.width;
    let y = i / p.width;
    let row = 2u * p.width;
    let top = 2u * y * row + 2u * x;
    let g = 0.5 * (merged[top + 1u] + merged[top + row]);
    let c = clamp(vec3<f32>(merged[top], g, merged[top + row + 1u]), vec3<f32>(0.0), vec3<f32>(1.0));
    let e = vec3<f32>(srgb_oetf(c.r), srgb_oetf(c.g), srgb_oetf(c.b));
    let max_value = select(65535.0, 255.0, p.bits == 8u);
    return vec3<u32>(round(e * max_value));
}

@compute @workgroup_size(256)
fn photo_encode(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.y * p.stride + id.x; // pixel pair
    let i = 2u * k;
    if (i >= p.pixels) {
        return;
    }
    let a = encode(i);
    var b = vec3<u32>(0u);
    if (i + 1u < p.pixels) {
        b = encode(i + 1u);
    }
    store_pair(k, a, b);
}
