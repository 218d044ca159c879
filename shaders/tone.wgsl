// Tone and quantize: exposure gain, highlight shoulder, sRGB transfer, then 8- or 16-bit integers.
// Output is packed RGB, one u16 per channel (on the 0..255 or 0..65535 scale), exactly the bytes
// the host keeps: each invocation writes two pixels as three u32 words, so nothing is unpacked.
//
// The shoulder is linear up to the knee and rolls off smoothly (C1 at the knee) so that the
// brightest value of the image, `white`, lands exactly on 1 instead of clipping.

struct Params {
    pixels: u32,  // pixels in the image
    stride: u32,  // invocations per dispatch row (2-D dispatch of a 1-D job)
    bits: u32,    // 8 or 16: the scale of the output values
    flags: u32,   // bit 0: shoulder, bit 1: sRGB transfer, bit 2: toe
    gain: f32,
    knee: f32,
    white: f32,   // input value (after gain) that maps to 1
    toe: f32,     // below it values roll off towards 0 (C1, never negative) instead of clipping
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

// Below the toe: toe·exp((x - toe)/toe), C1 at the toe, positive and increasing, so negative
// values (the undershoot of pyramid fusion at strong edges) stay ordered deep shadows.
fn toe(x: f32) -> f32 {
    if (x >= p.toe || p.toe <= 0.0) {
        return x;
    }
    return p.toe * exp((x - p.toe) / p.toe);
}

fn toned(i: u32) -> vec3<u32> {
    let px = img[i];
    var rgb = vec3<f32>(unpack2x16float(px.x), unpack2x16float(px.y).x) * p.gain;
    if ((p.flags & 4u) != 0u) {
        rgb = vec3<f32>(toe(rgb.r), toe(rgb.g), toe(rgb.b));
    }
    rgb = max(rgb, vec3<f32>(0.0));
    if ((p.flags & 1u) != 0u) {
        rgb = vec3<f32>(shoulder(rgb.r), shoulder(rgb.g), shoulder(rgb.b));
    }
    rgb = clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0));
    if ((p.flags & 2u) != 0u) {
        rgb = vec3<f32>(srgb_oetf(rgb.r), srgb_oetf(rgb.g), srgb_oetf(rgb.b));
    }
    let max_value = select(65535.0, 255.0, p.bits == 8u);
    return vec3<u32>(round(rgb * max_value));
}

@compute @workgroup_size(256)
fn tone(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.y * p.stride + id.x; // pixel pair
    let i = 2u * k;
    if (i >= p.pixels) {
        return;
    }
    let a = toned(i);
    var b = vec3<u32>(0u);
    if (i + 1u < p.pixels) {
        b = toned(i + 1u);
    }
    store_pair(k, a, b);
}
