// Image pyramids for exposure fusion (Mertens, Kautz & Van Reeth 2007), built like Burt & Adelson's
// Laplacian pyramid: a 5-tap binomial kernel [1 4 6 4 1]/16, levels of ceil(w/2) × ceil(h/2) (no
// power-of-two assumption), borders mirrored without repeating the edge pixel (x = -1 reads x = 1).
//
// Up-sampling is written on the zero-stuffed grid of twice the coarser level's size, mirrored there
// and cropped to the finer level (which is one pixel smaller where the finer size is odd), so the
// taps that land on source pixels always sum to 1, and the results are those of OpenCV's pyrUp. The Laplacian level is
// `fine - up(coarser)` with this same up-sampling, which makes the collapse exact whatever the
// border rule.
//
// Gaussian levels (the inputs and their reductions, values in [0, 1]) are RGBA 16-bit unorm
// (pack2x16unorm): exact for 8- and 16-bit photos, and finer than f16 above 1/32. Fused levels
// are signed (Laplacian detail; collapsed values overshoot [0, 1] a little): RGBA 16-bit snorm of
// v/2, range [-2, 2] in steps of 6e-5. Not f16: its steps near 1 are 8 times coarser and its
// rounding is implementation-defined (GL and Vulkan drifted apart over ten levels). 8 bytes per
// pixel either way; arithmetic is f32.

// pyr_down_image: the finer level; blend_level and collapse_level: the coarser level.
@group(0) @binding(1) var<storage, read> src: array<vec2<u32>>;
// The level written: pyr_down_image: the coarser level; blend/collapse: the fused pyramid's level.
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<u32>>;
// blend_level: this level of the input's Gaussian pyramid.
@group(0) @binding(3) var<storage, read> fine: array<vec2<u32>>;
// blend_level: this level of the input's normalized weight pyramid.
@group(0) @binding(4) var<storage, read> weight: array<f32>;

// A fused level's pixel: v/2 as 16-bit snorm.
fn unpack(px: vec2<u32>) -> vec3<f32> {
    return 2.0 * vec3<f32>(unpack2x16snorm(px.x), unpack2x16snorm(px.y).x);
}

fn pack(rgb: vec3<f32>) -> vec2<u32> {
    return vec2<u32>(pack2x16snorm(0.5 * rgb.rg), pack2x16snorm(vec2<f32>(0.5 * rgb.b, 1.0)));
}

fn unpack_unorm(px: vec2<u32>) -> vec3<f32> {
    return vec3<f32>(unpack2x16unorm(px.x), unpack2x16unorm(px.y).x);
}

fn pack_unorm(rgb: vec3<f32>) -> vec2<u32> {
    return vec2<u32>(pack2x16unorm(rgb.rg), pack2x16unorm(vec2<f32>(rgb.b, 1.0)));
}

// The coarser level's pixel: a Gaussian level (unorm) when blending, a fused level when collapsing.
fn coarse_at(i: u32, gaussian: bool) -> vec3<f32> {
    if (gaussian) {
        return unpack_unorm(src[i]);
    }
    return unpack(src[i]);
}

// The taps of up-sampling along one axis at x (of a level 2n wide on the zero-stuffed grid): of
// the kernel's five taps only those with x + k even land on a coarse pixel (mirroring keeps parity),
// three for even x, two for odd x; each axis carries half of the ×4 (one pixel in four of the
// zero-stuffed grid holds a value). Coarse indices in `i`, weights in `w` (0: unused).
struct UpTaps {
    i: vec3<i32>,
    w: vec3<f32>,
}

fn up_taps(x: i32, n2: i32) -> UpTaps {
    let odd = (x & 1) != 0;
    let k0 = select(-2, -1, odd);
    var t: UpTaps;
    t.i = vec3<i32>(reflect101(x + k0, n2), reflect101(x + k0 + 2, n2), reflect101(x + k0 + 4, n2)) / 2;
    t.w = select(vec3<f32>(0.125, 0.75, 0.125), vec3<f32>(0.5, 0.5, 0.0), odd);
    return t;
}

// The coarser level `src` (other_width × other_height) up-sampled to (x, y) of this level.
fn upsample(x: i32, y: i32, gaussian: bool) -> vec3<f32> {
    let tx = up_taps(x, 2 * i32(p.other_width));
    let ty = up_taps(y, 2 * i32(p.other_height));
    var acc = vec3<f32>(0.0);
    for (var j = 0; j < 3; j++) {
        if (ty.w[j] == 0.0) { continue; }
        let row = u32(ty.i[j] - i32(p.other_row0)) * p.other_width;
        for (var i = 0; i < 3; i++) {
            if (tx.w[i] == 0.0) { continue; }
            acc += (ty.w[j] * tx.w[i]) * coarse_at(row + u32(tx.i[i]), gaussian);
        }
    }
    return acc;
}

@compute @workgroup_size(16, 16)
fn pyr_down_image(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let ow = i32(p.other_width);
    let oh = i32(p.other_height);
    // The five columns once (mirrored at the borders), then each row's taps.
    var sx: array<u32, 5>;
    for (var kx = 0; kx < 5; kx++) {
        sx[kx] = u32(reflect101(2 * i32(id.x) + kx - 2, ow));
    }
    var acc = vec3<f32>(0.0);
    for (var ky = -2; ky <= 2; ky++) {
        let row = u32(reflect101(2 * i32(id.y + p.row0) + ky, oh) - i32(p.other_row0)) * p.other_width;
        var r = vec3<f32>(0.0);
        for (var kx = 0; kx < 5; kx++) {
            r += TAPS[kx] * unpack_unorm(src[row + sx[kx]]);
        }
        acc += TAPS[ky + 2] * r;
    }
    dst[id.y * p.width + id.x] = pack_unorm(acc);
}

// Adds one input's contribution to a level of the fused pyramid: weight × Laplacian.
@compute @workgroup_size(16, 16)
fn blend_level(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    var lap = unpack_unorm(fine[i]);
    if (p.top == 0u) {
        lap -= upsample(i32(id.x), i32(id.y + p.row0), true);
    }
    dst[i] = pack(unpack(dst[i]) + weight[i] * lap);
}

// Collapses one level: adds the up-sampled coarser (already collapsed) level.
@compute @workgroup_size(16, 16)
fn collapse_level(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.rows) {
        return;
    }
    let i = id.y * p.width + id.x;
    dst[i] = pack(unpack(dst[i]) + upsample(i32(id.x), i32(id.y + p.row0), false));
}
