// GainMap (DNG opcode 9): the pixels of an area (every row_pitch-th row and col_pitch-th column,
// planes plane .. plane + planes) are multiplied by a gain interpolated bilinearly from a grid of
// map points laid over the stage image. A pixel's map coordinate is its centre relative to the
// stage image (0 at the top/left edge, 1 at the bottom/right), minus MapOrigin, over MapSpacing;
// outside the grid the edge gains hold (DNG 1.7 §7, GainMap).
// ScalePerRow/Column and DeltaPerRow/Column (ids 12, 13, 10, 11) are one-dimensional maps with a
// point per processed row or column; deltas add instead of multiplying (`additive`).
// List 1 runs on raw values (sensor units / 65535): `to_raw` maps our normalized value there and back.

struct Params {
    width: u32,
    rows: u32,
    y0: u32,           // image row of buffer row 0
    format: u32,
    stride: u32,
    image_planes: u32,
    plane: u32,
    planes: u32,
    top: u32,          // area clipped to the image, pitch phase kept
    left: u32,
    bottom: u32,
    right: u32,
    row_pitch: u32,
    col_pitch: u32,
    points_v: u32,
    points_h: u32,
    map_planes: u32,
    additive: u32,     // 1: value + map (deltas), 0: value × map
    // map index = pixel * index.x + index.y, per axis (v: rows, h: columns)
    index_v: vec2<f32>,
    index_h: vec2<f32>,
    _pad1: vec2<f32>,
    to_raw_scale: vec4<f32>,   // per 2×2 position (format 0, one plane); 1 elsewhere
    to_raw_offset: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read> gains: array<f32>;

// Integer part, next index and fraction of a map coordinate, clamped to the grid.
fn grid(f: f32, points: u32) -> vec3<f32> {
    let last = f32(points - 1u);
    let c = clamp(f, 0.0, last);
    let i = floor(c);
    return vec3<f32>(i, min(i + 1.0, last), c - i);
}

fn gain_at(r: u32, c: u32, plane: u32) -> f32 {
    return gains[(r * p.points_h + c) * p.map_planes + plane];
}

@compute @workgroup_size(16, 16)
fn gain_map(@builtin(global_invocation_id) id: vec3<u32>) {
    if (!in_band_area(id)) {
        return;
    }
    let x = id.x;
    let y = id.y + p.y0;
    let gv = grid(f32(y) * p.index_v.x + p.index_v.y, p.points_v);
    let gh = grid(f32(x) * p.index_h.x + p.index_h.y, p.points_h);
    let r0 = u32(gv.x);
    let r1 = u32(gv.y);
    let c0 = u32(gh.x);
    let c1 = u32(gh.y);
    let to_raw = to_raw_at(x, y);
    let i = id.y * p.width + x;
    for (var plane = p.plane; plane < planes_end(); plane++) {
        let m = min(plane, p.map_planes - 1u);
        let top = mix(gain_at(r0, c0, m), gain_at(r0, c1, m), gh.z);
        let bottom = mix(gain_at(r1, c0, m), gain_at(r1, c1, m), gh.z);
        let gain = mix(top, bottom, gv.z);
        let raw = raw_get(i, plane, to_raw);
        raw_set(i, plane, to_raw, select(raw * gain, raw + gain, p.additive == 1u));
    }
}
