// Pixel access shared by the value-map opcode kernels (GainMap, MapPolynomial, MapTable), which
// apply to the normalized f32 mosaic, a packed f32 RGB image, or the f16 RGBA image between
// demosaic and colour. Each kernel declares `data` and `p`, whose Params start with the fields of
// `Pixels` (stages/opcodes/mod.rs) and end with to_raw_scale and to_raw_offset.
//   format 0: f32, `stride` values per pixel (1 for a mosaic, 3 for packed RGB)
//   format 1: f16 RGBA, two u32 per pixel (pack2x16float)

fn pixel_get(i: u32, plane: u32) -> f32 {
    if (p.format == 0u) {
        return bitcast<f32>(data[i * p.stride + plane]);
    }
    return unpack2x16float(data[i * 2u + (plane >> 1u)])[plane & 1u];
}

fn pixel_set(i: u32, plane: u32, v: f32) {
    if (p.format == 0u) {
        data[i * p.stride + plane] = bitcast<u32>(v);
        return;
    }
    let w = i * 2u + (plane >> 1u);
    var pair = unpack2x16float(data[w]);
    pair[plane & 1u] = v;
    data[w] = pack2x16float(pair);
}

// Whether image pixel (x, y) is one an area processes (inside, and on its row and column pitch).
fn in_area(x: u32, y: u32, top: u32, left: u32, bottom: u32, right: u32, row_pitch: u32, col_pitch: u32) -> bool {
    return y >= top && y < bottom && x >= left && x < right
        && (y - top) % row_pitch == 0u && (x - left) % col_pitch == 0u;
}

// Whether invocation `id` (x, band row) is a pixel of the band that the area processes.
fn in_band_area(id: vec3<u32>) -> bool {
    return id.x < p.width && id.y < p.rows
        && in_area(id.x, id.y + p.y0, p.top, p.left, p.bottom, p.right, p.row_pitch, p.col_pitch);
}

// One past the last plane the area processes.
fn planes_end() -> u32 {
    return min(p.plane + p.planes, p.image_planes);
}

// The opcode's value scale at image pixel (x, y) as (scale, offset): raw = value · scale + offset
// (list 1 runs on raw values, sensor units / 65535; lists 2 and 3 on ours).
fn to_raw_at(x: u32, y: u32) -> vec2<f32> {
    let pos = (y & 1u) * 2u + (x & 1u);
    return vec2<f32>(p.to_raw_scale[pos], p.to_raw_offset[pos]);
}

fn raw_get(i: u32, plane: u32, to_raw: vec2<f32>) -> f32 {
    return pixel_get(i, plane) * to_raw.x + to_raw.y;
}

fn raw_set(i: u32, plane: u32, to_raw: vec2<f32>, raw: f32) {
    pixel_set(i, plane, (raw - to_raw.y) / to_raw.x);
}
