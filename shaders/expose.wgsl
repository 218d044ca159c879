// Conversions around exposure fusion. Synthetic exposure for HDR tone mapping: a linear image's
// luminance rendered as a camera would at exposure gain `gain`: scaled, clipped to [0, 1] and
// sRGB-encoded. Two of these (a short and a long one) are then fused like a real bracket (HDR+,
// Hasinoff et al. 2016).

@group(0) @binding(1) var<storage, read> linear: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> exposed: array<vec2<u32>>; // RGBA 16-bit unorm, as fusion inputs

fn srgb_oetf(x: f32) -> f32 {
    if (x <= 0.0031308) {
        return 12.92 * x;
    }
    return 1.055 * pow(x, 1.0 / 2.4) - 0.055;
}

// The luminance-only synthetic exposure of colour-preserving auto HDR (HDR+ fuses grey): the
// linear image's luminance (Rec.709 weights) exposed by `gain`, clipped and sRGB-encoded, in all
// three channels, so the fusion kernels run on it unchanged (Mertens' saturation measure is 0 on
// grey: give it exponent 0).
@compute @workgroup_size(16, 16)
fn synthetic_exposure_luma(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    let px = linear[i];
    let rgb = vec3<f32>(unpack2x16float(px.x), unpack2x16float(px.y).x);
    let y = clamp(dot(rgb, vec3<f32>(0.2126, 0.7152, 0.0722)) * p.k.x, 0.0, 1.0);
    let e = srgb_oetf(y);
    exposed[i] = vec2<u32>(pack2x16unorm(vec2<f32>(e, e)), pack2x16unorm(vec2<f32>(e, 1.0)));
}

// The fused image (16-bit snorm of v/2, see pyramid.wgsl) as RGBA f16 for the tone stage.
@compute @workgroup_size(16, 16)
fn fused_to_f16(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    let px = linear[i];
    let v = 2.0 * vec3<f32>(unpack2x16snorm(px.x), unpack2x16snorm(px.y).x);
    exposed[i] = vec2<u32>(pack2x16float(v.rg), pack2x16float(vec2<f32>(v.b, 1.0)));
}
