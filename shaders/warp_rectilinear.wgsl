// WarpRectilinear (DNG opcode 1) on the f16 RGBA image after demosaicing: each output pixel of
// each plane is sampled (bilinearly, clamped at the image edge) where the lens put it:
//   Δ = (x - c) / m,  r² = |Δ|²,  f = kr0 + kr1 r² + kr2 r⁴ + kr3 r⁶
//   x' = cx + m (f Δx + kt0·2ΔxΔy + kt1 (r² + 2Δx²)),  y' = cy + m (f Δy + kt1·2ΔxΔy + kt0 (r² + 2Δy²))
// with c the optical centre and m the distance from it to the farthest corner of the stage image,
// in pixels (DNG 1.7 §7, WarpRectilinear). The source band holds the rows the output band reads.

struct Params {
    width: u32,
    height: u32,        // image height: samples clamp to the image
    src_y0: u32,        // image row of source buffer row 0
    src_rows: u32,
    dst_y0: u32,
    dst_rows: u32,
    planes: u32,        // coefficient sets: 1 (every plane) or one per plane
    _pad: u32,
    center: vec2<f32>,  // optical centre, frame pixels
    radius: f32,        // m
    _pad1: f32,
    kr: array<vec4<f32>, 3>,   // kr0..kr3 of planes 0..2
    kt: array<vec4<f32>, 3>,   // kt0, kt1 of planes 0..2
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<u32>>;

fn fetch(x: u32, y: u32, plane: u32) -> f32 {
    let px = src[(y - p.src_y0) * p.width + x];
    let rgb = vec3<f32>(unpack2x16float(px.x), unpack2x16float(px.y).x);
    return rgb[plane];
}

fn sample(pos: vec2<f32>, plane: u32) -> f32 {
    let lo = vec2<f32>(0.0, f32(p.src_y0));
    let hi = vec2<f32>(f32(p.width - 1u), f32(min(p.height, p.src_y0 + p.src_rows) - 1u));
    let q = clamp(pos, lo, hi);
    let q0 = floor(q);
    let t = q - q0;
    let x0 = u32(q0.x);
    let y0 = u32(q0.y);
    let x1 = min(x0 + 1u, u32(hi.x));
    let y1 = min(y0 + 1u, u32(hi.y));
    let top = mix(fetch(x0, y0, plane), fetch(x1, y0, plane), t.x);
    let bottom = mix(fetch(x0, y1, plane), fetch(x1, y1, plane), t.x);
    return mix(top, bottom, t.y);
}

@compute @workgroup_size(16, 16)
fn warp_rectilinear(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.dst_rows) {
        return;
    }
    let d = (vec2<f32>(f32(id.x), f32(id.y + p.dst_y0)) - p.center) / p.radius;
    let r2 = dot(d, d);
    var rgb = vec3<f32>(0.0);
    for (var c = 0u; c < 3u; c++) {
        let k = select(c, 0u, p.planes == 1u);
        let kr = p.kr[k];
        let kt = p.kt[k];
        let f = kr.x + r2 * (kr.y + r2 * (kr.z + r2 * kr.w));
        let xy2 = 2.0 * d.x * d.y;
        let t = vec2<f32>(kt.x * xy2 + kt.y * (r2 + 2.0 * d.x * d.x),
                          kt.y * xy2 + kt.x * (r2 + 2.0 * d.y * d.y));
        rgb[c] = sample(p.center + p.radius * (f * d + t), c);
    }
    dst[id.y * p.width + id.x] = vec2<u32>(pack2x16float(rgb.rg), pack2x16float(vec2<f32>(rgb.b, 1.0)));
}
