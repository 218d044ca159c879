// Binning: a normalized f32 mosaic → a smaller f32 mosaic (or RGB), as the mean of same-colour
// pixels, in float: no integer overflow and no rounding, and the mean keeps black 0 / white 1.
//
// bin_bayer:      Bayer → Bayer at 1/f resolution. Output site (X, Y) of a 2×2 output quad takes the
//                 f×f pixels of its own colour in the (2f)×(2f) input block of that quad: every
//                 output keeps the input's CFA phase.
// bin_blocks:     Quad Bayer (f = 2) / Nonacell (f = 3), whose colour filter covers f×f pixel
//                 blocks: each block's mean is one pixel of a standard Bayer mosaic.
// bin_superpixel: each 2×2 Bayer quad → one RGB pixel (R, mean of the two G, B), f16 RGBA.
//
// Input rows are a band of the image (image rows in_y0 .. in_y0 + in_rows, in_y0 a multiple of the
// input block height); output rows out_y0 .. out_y0 + out_rows of the binned image are written at
// their place in a whole-image output buffer.

struct Params {
    in_width: u32,
    in_rows: u32,
    in_y0: u32,
    factor: u32,
    out_width: u32,
    out_rows: u32,
    out_y0: u32,
    cfa: u32,      // colour of each 2×2 position of the Bayer input, 2 bits each (0 R, 1 G, 2 B)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mosaic: array<f32>;
@group(0) @binding(2) var<storage, read_write> binned: array<f32>;
@group(0) @binding(2) var<storage, read_write> rgb_out: array<vec2<u32>>;

fn input(x: u32, y: u32) -> f32 {
    return mosaic[(y - p.in_y0) * p.in_width + x];
}

// The binned-image pixel of this invocation, or false when outside the rows to produce.
fn out_pixel(id: vec3<u32>, q: ptr<function, vec2<u32>>) -> bool {
    *q = vec2<u32>(id.x, p.out_y0 + id.y);
    return id.x < p.out_width && id.y < p.out_rows;
}

@compute @workgroup_size(16, 16)
fn bin_bayer(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<u32>;
    if (!out_pixel(id, &q)) { return; }
    let f = p.factor;
    // Top-left input pixel of this site's colour in the quad's (2f)×(2f) block.
    let x0 = (q.x >> 1u) * 2u * f + (q.x & 1u);
    let y0 = (q.y >> 1u) * 2u * f + (q.y & 1u);
    var sum = 0.0;
    for (var j = 0u; j < f; j++) {
        for (var i = 0u; i < f; i++) {
            sum += input(x0 + 2u * i, y0 + 2u * j);
        }
    }
    binned[q.y * p.out_width + q.x] = sum / f32(f * f);
}

@compute @workgroup_size(16, 16)
fn bin_blocks(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<u32>;
    if (!out_pixel(id, &q)) { return; }
    let f = p.factor;
    var sum = 0.0;
    for (var j = 0u; j < f; j++) {
        for (var i = 0u; i < f; i++) {
            sum += input(q.x * f + i, q.y * f + j);
        }
    }
    binned[q.y * p.out_width + q.x] = sum / f32(f * f);
}

@compute @workgroup_size(16, 16)
fn bin_superpixel(@builtin(global_invocation_id) id: vec3<u32>) {
    var q: vec2<u32>;
    if (!out_pixel(id, &q)) { return; }
    var rgb = vec3<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let c = (p.cfa >> (k * 2u)) & 3u;
        // Green appears twice in a quad: each counts half.
        let weight = select(1.0, 0.5, c == 1u);
        rgb[c] += weight * input(q.x * 2u + (k & 1u), q.y * 2u + (k >> 1u));
    }
    rgb_out[q.y * p.out_width + q.x] = vec2<u32>(pack2x16float(rgb.rg), pack2x16float(vec2<f32>(rgb.b, 1.0)));
}
