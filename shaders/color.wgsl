// Colour: white balance, highlight clipping, camera RGB → linear sRGB, in place on f16 RGBA pixels.
//
// The multipliers are scaled so the smallest is 1 and every channel is clipped at 1: a pixel where
// any raw channel saturated then comes out neutral white instead of magenta.

struct Params {
    width: u32,
    rows: u32,
    _pad0: u32,
    _pad1: u32,
    wb: vec4<f32>,
    m0: vec4<f32>, // camera → sRGB matrix rows (rows sum to 1: white stays white)
    m1: vec4<f32>,
    m2: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> img: array<vec2<u32>>;

@compute @workgroup_size(16, 16)
fn color(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    let px = img[i];
    let cam = min(vec3<f32>(unpack2x16float(px.x), unpack2x16float(px.y).x) * p.wb.xyz, vec3<f32>(1.0));
    let rgb = vec3<f32>(dot(p.m0.xyz, cam), dot(p.m1.xyz, cam), dot(p.m2.xyz, cam));
    img[i] = vec2<u32>(pack2x16float(rgb.rg), pack2x16float(vec2<f32>(rgb.b, 1.0)));
}
