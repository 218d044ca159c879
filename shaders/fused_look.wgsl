// The finish of colour-preserving auto HDR (HDR+, Hasinoff et al. 2016: fuse grey, then carry
// the colour): the fused luminance (display-referred, from exposure fusion of the luminance's
// synthetic exposures) is rolled into [0, 1], decoded to linear light, and every pixel's linear
// RGB is scaled by fused / own luminance, so hue and saturation in linear light are the scene's.
// Then a gentle S-curve restores the global contrast that fusion flattens, and the output is
// quantized like tone.wgsl (three u32 words per pixel pair, one u16 per channel).
//
// - toe: below `toe` the fused value follows toe²/(2·toe - v): C1 at the toe, positive and
//   decreasing only as 1/v, so the undershoot of the pyramid next to strong edges stays an
//   ordered deep shadow (an exponential toe crushed those pixels to black).
// - shoulder: above `knee`, knee + (1 - knee)(1 - exp(-(v - knee)/(1 - knee))): C1 at the knee
//   and below 1 for every value, so fused overshoot rolls off instead of clipping to white.
// - colour ratio: (rgb + eps)·Y_out/(Y + eps): the ratio for Y ≫ eps, grey at Y_out where the
//   pixel is black (no division by 0, no colour from noise).
// - gamut: a bright saturated colour has channels over 1 (luminance ≤ 1 but chroma kept): each
//   channel then rolls off through the same shoulder, in display space, so its brightest channel
//   compresses first and the hue moves towards the next primary and white (an orange bauble
//   reads golden, as with a per-channel curve or film; moving it towards grey at constant
//   luminance turned it pastel salmon), and nothing clips.
// - highlights: a ratio keeps full saturation up to white, where a per-channel curve (and film)
//   desaturates, and the sensor clipped some channels of the brightest pixels (a candle flame's
//   fringe came out pink): from luminance `highlight` (at the short exposure, whose white is the
//   scene's brightest) up to 1 pixels fade to grey at their fused luminance.

struct Params {
    pixels: u32,    // pixels in the image
    stride: u32,    // invocations per dispatch row (2-D dispatch of a 1-D job)
    bits: u32,      // 8 or 16: the scale of the output values
    pad: u32,
    gain: f32,      // linear input × gain: the short exposure's scale (fused luminance's units)
    eps: f32,       // luminance (after gain) below which a pixel's colour fades to grey
    knee: f32,      // shoulder knee, display-referred
    toe: f32,       // toe, display-referred
    contrast: f32,  // S-curve strength: 0 none, 1 smoothstep
    highlight: f32, // luminance (after gain) where highlights start to fade to grey
    pad2: f32,
    pad3: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> linear: array<vec2<u32>>; // RGBA f16, linear sRGB
@group(0) @binding(2) var<storage, read> fused: array<vec2<u32>>;  // fused grey, 16-bit snorm of v/2
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn srgb_eotf(v: f32) -> f32 {
    if (v <= 0.04045) {
        return v / 12.92;
    }
    return pow((v + 0.055) / 1.055, 2.4);
}

fn shoulder(v: f32) -> f32 {
    if (v > p.knee) {
        return p.knee + (1.0 - p.knee) * (1.0 - exp(-(v - p.knee) / (1.0 - p.knee)));
    }
    return v;
}

fn rolled(v: f32) -> f32 {
    if (v < p.toe) {
        return p.toe * p.toe / (2.0 * p.toe - v);
    }
    return shoulder(v);
}

fn s_curve(d: f32) -> f32 {
    return d + p.contrast * (d * d * (3.0 - 2.0 * d) - d);
}

fn look(i: u32) -> vec3<u32> {
    let px = linear[i];
    let rgb = max(vec3<f32>(unpack2x16float(px.x), unpack2x16float(px.y).x) * p.gain, vec3<f32>(0.0));
    let y = dot(rgb, vec3<f32>(0.2126, 0.7152, 0.0722));
    let f = 2.0 * unpack2x16snorm(fused[i].x).x;
    let y_out = srgb_eotf(rolled(f));
    var c = (rgb + vec3<f32>(p.eps)) * (y_out / (y + p.eps));
    c = mix(c, vec3<f32>(y_out), smoothstep(p.highlight, 1.0, y));
    let e = vec3<f32>(srgb_oetf(c.r), srgb_oetf(c.g), srgb_oetf(c.b));
    let d = vec3<f32>(s_curve(shoulder(e.r)), s_curve(shoulder(e.g)), s_curve(shoulder(e.b)));
    let max_value = select(65535.0, 255.0, p.bits == 8u);
    return vec3<u32>(round(clamp(d, vec3<f32>(0.0), vec3<f32>(1.0)) * max_value));
}

@compute @workgroup_size(256)
fn fused_look(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.y * p.stride + id.x; // pixel pair
    let i = 2u * k;
    if (i >= p.pixels) {
        return;
    }
    let a = look(i);
    var b = vec3<u32>(0u);
    if (i + 1u < p.pixels) {
        b = look(i + 1u);
    }
    store_pair(k, a, b);
}
