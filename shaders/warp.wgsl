// Handheld brackets: the alignment grey of one exposure (linearized, brought to the reference's
// exposure, clamped to the range both exposures record, averaged over 2×2 pixel blocks), the
// confidence of each aligned tile, and the warp that resamples an exposure by its motion field
// before fusion. Images are RGBA 16-bit unorm words (the fusion's input format), sRGB-encoded.
// Tiles are the burst alignment's on the half-resolution grey: 16×16 grey pixels at stride 8,
// tile i centred on grey pixel 8i − 0.5 (see align.wgsl), which is image pixel 16i − 0.5 (grey
// pixel g covers image pixels 2g and 2g + 1, centre 2g + 0.5).

// TILE, STRIDE, clamped_index and cubic_weights: tiles_common.wgsl (prepended).

fn srgb_eotf(v: f32) -> f32 {
    if (v <= 0.04045) {
        return v / 12.92;
    }
    return pow((v + 0.055) / 1.055, 2.4);
}

fn unpack_rgb(px: vec2<u32>) -> vec3<f32> {
    return vec3<f32>(unpack2x16unorm(px.x), unpack2x16unorm(px.y).x);
}

// ---- alignment grey --------------------------------------------------------------------------

struct GreyParams {
    // The exposure's size and the grey's (⌈width/2⌉ × ⌈height/2⌉).
    width: u32,
    height: u32,
    gw: u32,
    gh: u32,
    // 2^-ΔEV: brings this exposure's linear values to the reference's exposure.
    scale: f32,
    // The scene range both exposures of the pair record (reference units): outside it one of them
    // is clipped or in the noise, so values are clamped there and flat areas do not drive the search.
    lo: f32,
    hi: f32,
    _pad: f32,
}

@group(0) @binding(0) var<uniform> gp: GreyParams;
@group(0) @binding(1) var<storage, read> grey_src: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> grey_out: array<f32>;

// One grey pixel per 2×2 block, as the burst alignment's one per Bayer quad: the search, the
// pyramid and the confidence then run on a quarter of the pixels, and the shake a bracket has
// (a few to tens of pixels) is still found to a fraction of a pixel. Each channel of each pixel
// is clamped before the mean (a clipped pixel next to a dark one must not average into the range
// both exposures record). An odd last row or column repeats its edge pixels.
// sqrt of the clamped linear mean: a perceptual scale, so shadow texture counts in the search as
// much as it does to the eye (the search minimizes differences of these values).
@compute @workgroup_size(16, 16)
fn exposure_grey(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= gp.gw || id.y >= gp.gh) {
        return;
    }
    var s = 0.0;
    for (var dy = 0u; dy < 2u; dy++) {
        let y = min(2u * id.y + dy, gp.height - 1u);
        for (var dx = 0u; dx < 2u; dx++) {
            let x = min(2u * id.x + dx, gp.width - 1u);
            let rgb = unpack_rgb(grey_src[y * gp.width + x]);
            for (var c = 0; c < 3; c++) {
                s += clamp(srgb_eotf(rgb[c]) * gp.scale, gp.lo, gp.hi);
            }
        }
    }
    grey_out[id.y * gp.gw + id.x] = sqrt(s / 12.0);
}

// ---- tile confidence -------------------------------------------------------------------------

struct TileParams {
    // The confidence's grey, or the warp's image, and the grey's tile grid.
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    // Pixels of `width` × `height` between tile centres: STRIDE on the grey, 2·STRIDE on the image.
    stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> cp: TileParams;
@group(0) @binding(1) var<storage, read> conf_ref: array<f32>;
@group(0) @binding(2) var<storage, read> conf_alt: array<f32>;
@group(0) @binding(3) var<storage, read> conf_motion: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> confidence: array<vec2<f32>>;

fn conf_at_ref(x: i32, y: i32) -> f32 {
    return conf_ref[clamped_index(x, y, cp.width, cp.height, 0u)];
}

fn conf_at_alt(x: i32, y: i32) -> f32 {
    return conf_alt[clamped_index(x, y, cp.width, cp.height, 0u)];
}

// (texture, residual) of each tile: the reference's sum of squared deviations from its mean, and
// the sum of squared differences left after moving the alternate by the tile's vector (bilinear).
// The host trusts a tile whose match explains most of its texture.
@compute @workgroup_size(8, 8)
fn tile_confidence(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= cp.tiles_x || id.y >= cp.tiles_y) {
        return;
    }
    let t = id.y * cp.tiles_x + id.x;
    let ox = STRIDE * i32(id.x) - STRIDE;
    let oy = STRIDE * i32(id.y) - STRIDE;
    let m = conf_motion[t];
    let f = floor(m);
    let w = m - f;
    let d = vec2<i32>(i32(f.x), i32(f.y));
    var sum = 0.0;
    var sum2 = 0.0;
    var residual = 0.0;
    for (var v = 0; v < TILE; v++) {
        for (var u = 0; u < TILE; u++) {
            let x = ox + u;
            let y = oy + v;
            let r = conf_at_ref(x, y);
            sum += r;
            sum2 += r * r;
            let top = mix(conf_at_alt(x + d.x, y + d.y), conf_at_alt(x + d.x + 1, y + d.y), w.x);
            let bottom = mix(
                conf_at_alt(x + d.x, y + d.y + 1),
                conf_at_alt(x + d.x + 1, y + d.y + 1),
                w.x
            );
            let e = mix(top, bottom, w.y) - r;
            residual += e * e;
        }
    }
    let n = f32(TILE * TILE);
    confidence[t] = vec2<f32>(max(sum2 - sum * sum / n, 0.0), residual);
}

// ---- warp ------------------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> wp: TileParams;
@group(0) @binding(1) var<storage, read> warp_src: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> warp_motion: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> warp_out: array<vec2<u32>>;

fn tile_vector(i: i32, j: i32) -> vec2<f32> {
    return warp_motion[clamped_index(i, j, wp.tiles_x, wp.tiles_y, 0u)];
}

fn src_px(x: i32, y: i32) -> vec3<f32> {
    return unpack_rgb(warp_src[clamped_index(x, y, wp.width, wp.height, 0u)]);
}

// The exposure is resampled with Catmull-Rom weights (as align.wgsl's refinement; cubic_weights
// in tiles_common.wgsl): sharper than bilinear, which would blur each exposure by an amount that depends on its fractional shift. Lanczos-3 (36 taps) measured the
// same on tests/bracket.rs (36.8 / 31.1 dB against 36.6 / 31.3 dB, with the full-resolution grey of then): the loss left there is the
// resampling of texture near Nyquist, which no 16- or 36-tap filter undoes.

// Each output pixel samples the exposure where the motion field says the reference's content lies:
// the tile vectors (image pixels) interpolated bilinearly between tile centres (stride·i − 0.5,
// clamped at the outer centres), the exposure sampled bicubically with clamped borders.
@compute @workgroup_size(16, 16)
fn warp_image(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= wp.width || id.y >= wp.height) {
        return;
    }
    let tx = clamp((f32(id.x) + 0.5) / f32(wp.stride), 0.0, f32(wp.tiles_x - 1u));
    let ty = clamp((f32(id.y) + 0.5) / f32(wp.stride), 0.0, f32(wp.tiles_y - 1u));
    let i = i32(floor(tx));
    let j = i32(floor(ty));
    let a = tx - f32(i);
    let b = ty - f32(j);
    let m = mix(
        mix(tile_vector(i, j), tile_vector(i + 1, j), a),
        mix(tile_vector(i, j + 1), tile_vector(i + 1, j + 1), a),
        b
    );
    let p = vec2<f32>(f32(id.x), f32(id.y)) + m;
    let f = floor(p);
    let wx = cubic_weights(p.x - f.x);
    let wy = cubic_weights(p.y - f.y);
    let x = i32(f.x);
    let y = i32(f.y);
    var acc = vec3<f32>(0.0);
    for (var k = 0; k < 4; k++) {
        let yy = y + k - 1;
        let row = wx.x * src_px(x - 1, yy) + wx.y * src_px(x, yy) + wx.z * src_px(x + 1, yy)
            + wx.w * src_px(x + 2, yy);
        acc += wy[k] * row;
    }
    let c = clamp(acc, vec3<f32>(0.0), vec3<f32>(1.0));
    warp_out[id.y * wp.width + id.x] = vec2<u32>(pack2x16unorm(c.xy), pack2x16unorm(vec2<f32>(c.z, 1.0)));
}
