// Per-pixel weights of exposure fusion (Mertens, Kautz & Van Reeth 2007), on display-referred
// (gamma-encoded) values in [0, 1]:
//   contrast      |Laplacian| of the grey image (3×3 kernel [0 1 0; 1 -4 1; 0 1 0], Rec.601 grey),
//   saturation    spread of R, G, B: sqrt(Σ (c - mean)²),
//   exposedness   Π over channels of exp(-(c - 0.5)² / (2·0.2²)),
// each raised to its exponent and multiplied (weight_normalize adds OpenCV's 1e-12 floor).
// These are the definitions OpenCV's MergeMertens uses, so results can be compared with it.

@group(0) @binding(1) var<storage, read> img: array<vec2<u32>>; // RGBA 16-bit unorm
@group(0) @binding(2) var<storage, read_write> weight: array<f32>;

// Image pixel (x, y) (whole-image coordinates, mirrored at the borders) from the band's binding.
fn rgb_at(x: i32, y: i32) -> vec3<f32> {
    let row = u32(reflect101(y, i32(p.height))) - p.other_row0;
    let px = img[row * p.width + u32(reflect101(x, i32(p.width)))];
    return vec3<f32>(unpack2x16unorm(px.x), unpack2x16unorm(px.y).x);
}

fn grey_at(x: i32, y: i32) -> f32 {
    return dot(rgb_at(x, y), vec3<f32>(0.299, 0.587, 0.114));
}

// x^e with x^0 = 1 (also for x = 0, where pow is undefined) and 0^e = 0.
fn power(x: f32, e: f32) -> f32 {
    if (e == 0.0) {
        return 1.0;
    }
    if (x <= 0.0) {
        return 0.0;
    }
    if (e == 1.0) {
        return x; // the usual exponent: pow costs a log and an exp
    }
    return pow(x, e);
}

@compute @workgroup_size(16, 16)
fn mertens_weight(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let x = i32(id.x);
    let y = i32(id.y + p.row0);
    let c = rgb_at(x, y);
    let lap = grey_at(x - 1, y) + grey_at(x + 1, y) + grey_at(x, y - 1) + grey_at(x, y + 1)
        - 4.0 * dot(c, vec3<f32>(0.299, 0.587, 0.114));
    // Σ (c - mean)² written as pairwise differences, (Σ (ci - cj)²) / 3: exactly 0 for grey on
    // every implementation. Through the mean, rounding left some backends a tiny non-zero value on
    // grey pixels, which outweighs the normalization's 1e-12 floor and flipped their weights between backends.
    let d = vec3<f32>(c.r - c.g, c.g - c.b, c.b - c.r);
    let saturation = sqrt(dot(d, d) / 3.0);
    let e = (c - vec3<f32>(0.5)) * (c - vec3<f32>(0.5));
    let exposedness = exp(-e.r / 0.08) * exp(-e.g / 0.08) * exp(-e.b / 0.08);
    weight[id.y * p.width + id.x] = power(abs(lap), p.k.x) * power(saturation, p.k.y)
        * power(exposedness, p.k.z);
}
