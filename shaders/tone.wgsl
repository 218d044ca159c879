// Tone and quantize: exposure gain, highlight shoulder, sRGB transfer, then 8- or 16-bit integers.
//
// The shoulder is linear up to the knee and rolls off smoothly (C1 at the knee) so that the
// brightest value of the image, `white`, lands exactly on 1 instead of clipping.

struct Params {
    width: u32,
    rows: u32,
    bits: u32,    // 8: one u32 (RGBA8) per pixel; 16: two u32 (RGBA16) per pixel
    flags: u32,   // bit 0: shoulder, bit 1: sRGB transfer
    gain: f32,
    knee: f32,
    white: f32,   // input value (after gain) that maps to 1
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn shoulder(x: f32) -> f32 {
    if (x <= p.knee || p.white <= 1.0) {
        return x;
    }
    let a = (1.0 - p.knee) / (p.white - 1.0);
    let u = (x - p.knee) / (p.white - p.knee);
    return p.knee + (1.0 - p.knee) * u * (1.0 + a) / (u + a);
}

fn srgb_oetf(x: f32) -> f32 {
    if (x <= 0.0031308) {
        return 12.92 * x;
    }
    return 1.055 * pow(x, 1.0 / 2.4) - 0.055;
}

@compute @workgroup_size(16, 16)
fn tone(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    let px = img[i];
    var rgb = max(vec3<f32>(unpack2x16float(px.x), unpack2x16float(px.y).x) * p.gain, vec3<f32>(0.0));
    if ((p.flags & 1u) != 0u) {
        rgb = vec3<f32>(shoulder(rgb.r), shoulder(rgb.g), shoulder(rgb.b));
    }
    rgb = clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0));
    if ((p.flags & 2u) != 0u) {
        rgb = vec3<f32>(srgb_oetf(rgb.r), srgb_oetf(rgb.g), srgb_oetf(rgb.b));
    }
    if (p.bits == 8u) {
        out[i] = pack4x8unorm(vec4<f32>(rgb, 1.0));
    } else {
        let q = vec3<u32>(round(rgb * 65535.0));
        out[2u * i] = q.r | (q.g << 16u);
        out[2u * i + 1u] = q.b | (0xffffu << 16u);
    }
}
