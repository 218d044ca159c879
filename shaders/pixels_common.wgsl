// Pixel access shared by the opcode kernels, which apply to the normalized f32 mosaic, a packed
// f32 RGB image, or the f16 RGBA image between demosaic and colour. Each kernel declares `p`
// (with width, format and stride) and `data`.
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
