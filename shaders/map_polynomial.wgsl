// MapPolynomial (DNG opcode 8, DNG 1.7 §7): the pixels of an area (pitch and planes as in
// GainMap) become Σ c_i·vⁱ of their value, a polynomial of degree ≤ 8 evaluated by Horner's rule.
// List 1 runs on raw values (sensor units / 65535): `to_raw` maps our normalized value there and back.

struct Params {
    width: u32,
    rows: u32,
    y0: u32,
    format: u32,
    stride: u32,
    image_planes: u32,
    plane: u32,
    planes: u32,
    top: u32,
    left: u32,
    bottom: u32,
    right: u32,
    row_pitch: u32,
    col_pitch: u32,
    degree: u32,
    _pad: u32,
    coefficients: array<vec4<f32>, 3>,   // c0..c8
    to_raw_scale: vec4<f32>,
    to_raw_offset: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;

fn coefficient(k: u32) -> f32 {
    return p.coefficients[k >> 2u][k & 3u];
}

@compute @workgroup_size(16, 16)
fn map_polynomial(@builtin(global_invocation_id) id: vec3<u32>) {
    if (!in_band_area(id)) {
        return;
    }
    let to_raw = to_raw_at(id.x, id.y + p.y0);
    let i = id.y * p.width + id.x;
    for (var plane = p.plane; plane < planes_end(); plane++) {
        let v = raw_get(i, plane, to_raw);
        var acc = coefficient(p.degree);
        for (var k = p.degree; k > 0u; k--) {
            acc = acc * v + coefficient(k - 1u);
        }
        raw_set(i, plane, to_raw, acc);
    }
}
