// Normalize LinearRaw RGB: u16 samples (R, G, B interleaved, two per u32) → f16 RGBA, black → 0 and
// white → 1 per channel. LinearRaw DNGs are demosaiced already: this feeds the colour stage directly.
// Values beyond black and white are kept (colour clips highlights), only bounded to f16's range.

struct Params {
    width: u32,
    rows: u32,
    _pad0: u32,
    _pad1: u32,
    black: vec4<f32>,      // per sample R, G, B (w unused)
    inv_range: vec4<f32>,  // 1 / (white - black) per sample
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> raw: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<u32>>;

const F16_MAX: f32 = 65504.0;

fn sample(i: u32) -> f32 {
    return f32((raw[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu);
}

@compute @workgroup_size(16, 16)
fn normalize_rgb(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    let s = vec3<f32>(sample(3u * i), sample(3u * i + 1u), sample(3u * i + 2u));
    let rgb = clamp((s - p.black.xyz) * p.inv_range.xyz, vec3<f32>(-F16_MAX), vec3<f32>(F16_MAX));
    out[i] = vec2<u32>(pack2x16float(rgb.rg), pack2x16float(vec2<f32>(rgb.b, 1.0)));
}
