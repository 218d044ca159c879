// MapTable (DNG opcode 7): the pixels of an area (pitch and planes as in GainMap) are replaced by
// table[value], the value taken on the 16-bit scale the DNG reference implementation indexes
// with (raw values for list 1, 0..65535 for list 2); values past the table take its last entry.
// `table` holds the entries / 65535; `to_raw` maps our normalized value to the opcode's scale.

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
    entries: u32,
    _pad: u32,
    to_raw_scale: vec4<f32>,
    to_raw_offset: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;

@compute @workgroup_size(16, 16)
fn map_table(@builtin(global_invocation_id) id: vec3<u32>) {
    if (!in_band_area(id)) {
        return;
    }
    let to_raw = to_raw_at(id.x, id.y + p.y0);
    let i = id.y * p.width + id.x;
    for (var plane = p.plane; plane < planes_end(); plane++) {
        let v = raw_get(i, plane, to_raw);
        let index = u32(clamp(round(v * 65535.0), 0.0, f32(p.entries - 1u)));
        raw_set(i, plane, to_raw, table[index]);
    }
}
