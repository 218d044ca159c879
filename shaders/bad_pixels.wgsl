// FixBadPixelsConstant / FixBadPixelsList (DNG opcodes 4 and 5) on the normalized f32 mosaic.
// A bad pixel is flagged in `mask` (one bit per pixel of the band): by the file's list (set on the
// CPU) or by `mark_constant` (raw value equal to the opcode's constant). `fix` then replaces each
// flagged pixel by the mean of the unflagged pixels of its colour in the 5×5 window around it
// (colours from the opcode's BayerPhase). It writes flagged pixels only and reads unflagged ones,
// so it works in place.

struct Params {
    width: u32,
    rows: u32,
    y0: u32,
    colors: u32,        // Bayer colours of the 2×2 positions, 2 bits each, index (y & 1) * 2 + (x & 1)
    constant: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    to_sensor_scale: vec4<f32>,   // normalized → sensor units, per 2×2 position
    to_sensor_offset: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<atomic<u32>>;

fn color_of(x: u32, y: u32) -> u32 {
    return (p.colors >> (2u * (((y & 1u) << 1u) | (x & 1u)))) & 3u;
}

fn flagged(i: u32) -> bool {
    return ((atomicLoad(&mask[i >> 5u]) >> (i & 31u)) & 1u) != 0u;
}

@compute @workgroup_size(16, 16)
fn mark_constant(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    let pos = ((id.y + p.y0) & 1u) * 2u + (id.x & 1u);
    let sensor = round(data[i] * p.to_sensor_scale[pos] + p.to_sensor_offset[pos]);
    if (sensor == f32(p.constant)) {
        atomicOr(&mask[i >> 5u], 1u << (i & 31u));
    }
}

@compute @workgroup_size(16, 16)
fn fix(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    if (!flagged(i)) {
        return;
    }
    let y = id.y + p.y0;
    let c = color_of(id.x, y);
    var sum = 0.0;
    var n = 0u;
    for (var dy = -2; dy <= 2; dy++) {
        for (var dx = -2; dx <= 2; dx++) {
            let u = i32(id.x) + dx;
            let v = i32(id.y) + dy;
            if (u < 0 || v < 0 || u >= i32(p.width) || v >= i32(p.rows) || (dx == 0 && dy == 0)) {
                continue;
            }
            let j = u32(v) * p.width + u32(u);
            if (color_of(u32(u), u32(v) + p.y0) == c && !flagged(j)) {
                sum += data[j];
                n += 1u;
            }
        }
    }
    if (n > 0u) {
        data[i] = sum / f32(n);
    }
}
