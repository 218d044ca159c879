// Normalize: raw u16 sensor values (two per u32) → linear f32, black → 0, white → 1, per CFA position.
// Values below black or above white are kept (not clipped): merging averages noise around zero,
// and highlight handling happens in colour.

struct Params {
    width: u32,
    rows: u32,
    y0: u32,      // image row of buffer row 0: keeps the CFA phase right inside a band
    _pad: u32,
    black: vec4<f32>,      // per 2×2 position, index (y & 1) * 2 + (x & 1)
    inv_range: vec4<f32>,  // 1 / (white - black)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> raw: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(16, 16)
fn normalize(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    let v = f32((raw[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu);
    let pos = ((id.y + p.y0) & 1u) * 2u + (id.x & 1u);
    out[i] = (v - p.black[pos]) * p.inv_range[pos];
}
