// Merge an aligned burst per Bayer plane, one alternate frame per dispatch (the reference itself
// is merged as a frame with zero motion), into an accumulator that a finishing pass turns into
// the merged mosaic.
//
// Wiener (HDR+): each plane is cut into 16×16 tiles at a stride of 8 (tile i starts at 8i − 8,
// as in align.wgsl), windowed by a raised cosine whose shifted copies sum to one, taken to the
// frequency domain; each frame's spectrum is pulled towards the reference's by
// A = |D|² / (|D|² + c·σ²), D the difference: where frames differ by no more than noise they are
// averaged, where they differ more (motion the tiles could not follow, occlusion) the reference
// wins. σ² comes from the shot + read noise model at the tile's brightness. The sub-pixel part of
// the motion is applied as a phase shift. Inverse DFT and overlap-add give the merged plane.
//
// Spatial: per pixel, the alternate is sampled bilinearly at the motion interpolated between
// tile centres and weighted by how well its 3×3 neighbourhood mean agrees with the reference's,
// measured in units of its noise.
//
// X-Trans (no 2×2 planes): per reference pixel of colour c, the alternate's colour-c samples
// around the moved position are gathered with a narrow Gaussian kernel (kernel regression, as in
// Wronski et al. 2019), weighted by a robustness like the spatial merge's; the finish is the
// spatial merge's.

struct MergeParams {
    width: u32,          // mosaic
    height: u32,
    pw: u32,             // each Bayer plane: mosaic / 2
    ph: u32,
    tiles_x: u32,
    tiles_y: u32,
    frames: u32,         // frames merged (finish divides by it)
    _pad: u32,
    ref_black: vec4<f32>,
    ref_inv_range: vec4<f32>,
    alt_black: vec4<f32>,
    alt_inv_range: vec4<f32>,
    noise: vec4<f32>,    // variance = x·scale + offset; then c (strength of the shrinkage)
    // The band of rows this dispatch works on (accumulator and output hold only the band, so
    // frames larger than one binding merge a band at a time): first tile row, tile rows in the
    // Wiener accumulator, first mosaic row, mosaic rows of output (spatial accumulator rows).
    band: vec4<u32>,
    // What the buffers hold (a crop of each frame, with the rows the band's motion can reach):
    // frames from mosaic row held.x (even), motion from tile row held.y. Rows are addressed in
    // whole-frame coordinates and clamped at the frame's edges, as when the frame is bound whole.
    held: vec4<u32>,
    // X-Trans merge: the packed 6×6 layout (2 bits per site, site y·6 + x in word i / 12).
    xtrans: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: MergeParams;
@group(0) @binding(1) var<storage, read> ref_raw: array<u32>;
// Frame passes.
@group(0) @binding(2) var<storage, read> alt_raw: array<u32>;
@group(0) @binding(3) var<storage, read> motion: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> acc: array<f32>;
// Finishing passes.
@group(0) @binding(2) var<storage, read> acc_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> merged: array<f32>;

const TILE: i32 = 16;
const STRIDE: i32 = 8;
const TAU: f32 = 6.283185307179586;

fn u16_at(i: u32, word: u32) -> f32 {
    return f32((word >> ((i & 1u) * 16u)) & 0xffffu);
}

// Index in the frame buffers of mosaic pixel (sx, sy).
fn held_index(sx: u32, sy: u32) -> u32 {
    return (sy - p.held.x) * p.width + sx;
}

// Index of plane `c` (index (y & 1) * 2 + (x & 1)) at plane pixel (x, y), edges repeated.
fn plane_index(c: u32, x: i32, y: i32) -> u32 {
    let sx = u32(clamp(x, 0, i32(p.pw) - 1)) * 2u + (c & 1u);
    let sy = u32(clamp(y, 0, i32(p.ph) - 1)) * 2u + (c >> 1u);
    return held_index(sx, sy);
}

// Normalised value of plane `c` at plane pixel (x, y), edges repeated.
fn ref_plane(c: u32, x: i32, y: i32) -> f32 {
    let i = plane_index(c, x, y);
    return (u16_at(i, ref_raw[i >> 1u]) - p.ref_black[c]) * p.ref_inv_range[c];
}

fn alt_plane(c: u32, x: i32, y: i32) -> f32 {
    let i = plane_index(c, x, y);
    return (u16_at(i, alt_raw[i >> 1u]) - p.alt_black[c]) * p.alt_inv_range[c];
}

// Motion of tile (tx, ty).
fn tile_motion(tx: u32, ty: u32) -> vec2<f32> {
    return motion[(ty - p.held.y) * p.tiles_x + tx];
}

fn noise_variance(x: f32) -> f32 {
    return p.noise.x * max(x, 0.0) + p.noise.y;
}

// Raised cosine: w(n) + w(n + 8) = 1, so overlapped windowed tiles add back to the image.
fn window(n: i32) -> f32 {
    return 0.5 - 0.5 * cos(TAU * (f32(n) + 0.5) / f32(TILE));
}

// ---- Wiener ----------------------------------------------------------------------------------

var<workgroup> ref_re: array<f32, 256>;
var<workgroup> ref_im: array<f32, 256>;
var<workgroup> alt_re: array<f32, 256>;
var<workgroup> alt_im: array<f32, 256>;
var<workgroup> tile_mean: f32;

// e^{-i 2π j / 16} = (cos, -sin) for j = 0..15: a table, because software adapters (and many
// GPUs) pay dearly for a cos and a sin in every step of every DFT sum.
var<private> TWIDDLES: array<vec2<f32>, 16> = array<vec2<f32>, 16>(
    vec2<f32>(1.000000000, -0.000000000),
    vec2<f32>(0.923879533, -0.382683432),
    vec2<f32>(0.707106781, -0.707106781),
    vec2<f32>(0.382683432, -0.923879533),
    vec2<f32>(0.000000000, -1.000000000),
    vec2<f32>(-0.382683432, -0.923879533),
    vec2<f32>(-0.707106781, -0.707106781),
    vec2<f32>(-0.923879533, -0.382683432),
    vec2<f32>(-1.000000000, -0.000000000),
    vec2<f32>(-0.923879533, 0.382683432),
    vec2<f32>(-0.707106781, 0.707106781),
    vec2<f32>(-0.382683432, 0.923879533),
    vec2<f32>(-0.000000000, 1.000000000),
    vec2<f32>(0.382683432, 0.923879533),
    vec2<f32>(0.707106781, 0.707106781),
    vec2<f32>(0.923879533, 0.382683432)
);

fn twiddle(j: i32) -> vec2<f32> {
    return TWIDDLES[j & 15];
}

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// Inverse DFT of a tile whose thread (u, v) (k = 16v + u) holds frequency bin (u, v): the real
// part of pixel (u, v), unnormalised (divide by 256). Along columns (thread (u, v) = column u,
// output row v), then along rows, through the workgroup arrays (ref_* holds the bins, alt_* the
// columns). Called by every thread of the workgroup (it has barriers).
fn inverse_dft(bin: vec2<f32>, u: i32, v: i32, k: u32) -> f32 {
    workgroupBarrier();
    ref_re[k] = bin.x;
    ref_im[k] = bin.y;
    workgroupBarrier();
    var col = vec2<f32>(0.0);
    for (var n = 0; n < TILE; n++) {
        col += cmul(vec2<f32>(ref_re[n * TILE + u], ref_im[n * TILE + u]), twiddle(-v * n));
    }
    workgroupBarrier();
    alt_re[k] = col.x;
    alt_im[k] = col.y;
    workgroupBarrier();
    var px = 0.0;
    for (var n = 0; n < TILE; n++) {
        let t = twiddle(-u * n);
        px += alt_re[v * TILE + n] * t.x - alt_im[v * TILE + n] * t.y;
    }
    return px;
}

// Workgroup = one 16×16 tile of one plane; thread (u, v) = pixel and then frequency (u, v).
// Groups: x = tile column, y = tile row · 4 + plane.
@compute @workgroup_size(16, 16)
fn merge_wiener_frame(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let tx = wg.x;
    let band_ty = wg.y / 4u;
    let ty = band_ty + p.band.x;
    let c = wg.y % 4u;
    let u = i32(lid.x);
    let v = i32(lid.y);
    let k = lid.y * 16u + lid.x;
    let m = tile_motion(tx, ty);
    let whole = vec2<i32>(round(m));
    let frac = m - vec2<f32>(whole);
    let ox = STRIDE * i32(tx) - STRIDE;
    let oy = STRIDE * i32(ty) - STRIDE;
    let w = window(u) * window(v);

    // Forward DFT along rows (inputs are real).
    ref_re[k] = w * ref_plane(c, ox + u, oy + v);
    alt_re[k] = w * alt_plane(c, ox + u + whole.x, oy + v + whole.y);
    workgroupBarrier();
    var r = vec2<f32>(0.0);
    var a = vec2<f32>(0.0);
    for (var n = 0; n < TILE; n++) {
        let t = twiddle(u * n);
        r += ref_re[v * TILE + n] * t;
        a += alt_re[v * TILE + n] * t;
    }
    workgroupBarrier();
    ref_re[k] = r.x;
    ref_im[k] = r.y;
    alt_re[k] = a.x;
    alt_im[k] = a.y;
    workgroupBarrier();
    // Along columns: thread (u, v) now holds frequency (kx = u, ky = v).
    var f0 = vec2<f32>(0.0);
    var fz = vec2<f32>(0.0);
    for (var n = 0; n < TILE; n++) {
        let t = twiddle(v * n);
        f0 += cmul(vec2<f32>(ref_re[n * TILE + u], ref_im[n * TILE + u]), t);
        fz += cmul(vec2<f32>(alt_re[n * TILE + u], alt_im[n * TILE + u]), t);
    }
    // The DC term over the window's sum (8 · 8) is the tile's mean brightness.
    if (k == 0u) {
        tile_mean = f0.x / 64.0;
    }
    workgroupBarrier();
    // Sub-pixel remainder as a phase shift: sampling at n + f multiplies bin k by e^{i2πkf/16}.
    let ks = vec2<f32>(f32(select(u, u - TILE, u >= 8)), f32(select(v, v - TILE, v >= 8)));
    let phase = TAU * dot(ks, frac) / f32(TILE);
    fz = cmul(fz, vec2<f32>(cos(phase), sin(phase)));
    // Noise of one bin of a windowed tile difference: 2 frames × σ² × Σw² (Σw² = 6 · 6).
    let sigma2 = 2.0 * noise_variance(tile_mean) * 36.0;
    let d = f0 - fz;
    let d2 = dot(d, d);
    let shrink = d2 / (d2 + p.noise.z * sigma2);
    let merged_bin = fz + shrink * d;
    let px = inverse_dft(merged_bin, u, v, k);
    let slot = ((c * p.band.y + band_ty) * p.tiles_x + tx) * 256u + k;
    acc[slot] += px / 256.0;
}

// Overlap-add the four tiles over each pixel, divide by the frame count. Pixels of an odd last
// column/row belong to no quad: they keep the reference's value.
@compute @workgroup_size(16, 16)
fn merge_wiener_finish(@builtin(global_invocation_id) id: vec3<u32>) {
    let sy = id.y + p.band.z;
    if (id.x >= p.width || id.y >= p.band.w || sy >= p.height) {
        return;
    }
    let c = (sy & 1u) * 2u + (id.x & 1u);
    let x = id.x >> 1u;
    let y = sy >> 1u;
    var value = 0.0;
    if (x >= p.pw || y >= p.ph) {
        value = ref_plane_any(id.x, sy);
    } else {
        var sum = 0.0;
        for (var j = 0u; j < 2u; j++) {
            let ty = y / 8u + j;
            let ny = y + 8u - 8u * ty;
            let band_ty = ty - p.band.x;
            for (var i = 0u; i < 2u; i++) {
                let tx = x / 8u + i;
                let nx = x + 8u - 8u * tx;
                sum += acc_in[((c * p.band.y + band_ty) * p.tiles_x + tx) * 256u + ny * 16u + nx];
            }
        }
        value = sum / f32(p.frames);
    }
    merged[id.y * p.width + id.x] = stored_level(value);
}

// The merged mosaic takes the levels of the 16-bit DNG it may be saved as (black 4096, white
// 65535; below-black noise kept, overshoot above white clipped as the sensor clips): developed
// here on the GPU or from that DNG, the photo is the same.
const MERGED_BLACK: f32 = 4096.0;
const MERGED_RANGE: f32 = 61439.0;

fn stored_level(v: f32) -> f32 {
    let q = clamp(round(MERGED_BLACK + v * MERGED_RANGE), 0.0, 65535.0);
    return (q - MERGED_BLACK) * (1.0 / MERGED_RANGE);
}

fn ref_plane_any(x: u32, y: u32) -> f32 {
    let i = held_index(x, y);
    let c = (y & 1u) * 2u + (x & 1u);
    return (u16_at(i, ref_raw[i >> 1u]) - p.ref_black[c]) * p.ref_inv_range[c];
}

// ---- spatial ---------------------------------------------------------------------------------

// Motion at plane position (x, y): bilinear between the centres of the tiles around it (tile i
// is centred on 8i − 0.5).
fn motion_at(x: f32, y: f32) -> vec2<f32> {
    let t = (vec2<f32>(x, y) + 0.5) / f32(STRIDE);
    let lim = vec2<f32>(f32(p.tiles_x - 1u), f32(p.tiles_y - 1u));
    let tc = clamp(t, vec2<f32>(0.0), lim);
    let t0 = min(floor(tc), max(lim - 1.0, vec2<f32>(0.0)));
    let f = tc - t0;
    let i0 = vec2<u32>(t0);
    let i1 = min(i0 + 1u, vec2<u32>(p.tiles_x - 1u, p.tiles_y - 1u));
    let m00 = tile_motion(i0.x, i0.y);
    let m10 = tile_motion(i1.x, i0.y);
    let m01 = tile_motion(i0.x, i1.y);
    let m11 = tile_motion(i1.x, i1.y);
    return mix(mix(m00, m10, f.x), mix(m01, m11, f.x), f.y);
}

fn alt_bilinear(c: u32, q: vec2<f32>) -> f32 {
    let f = floor(q);
    let t = q - f;
    let x = i32(f.x);
    let y = i32(f.y);
    let top = mix(alt_plane(c, x, y), alt_plane(c, x + 1, y), t.x);
    let bottom = mix(alt_plane(c, x, y + 1), alt_plane(c, x + 1, y + 1), t.x);
    return mix(top, bottom, t.y);
}

@compute @workgroup_size(16, 16)
fn merge_spatial_frame(@builtin(global_invocation_id) id: vec3<u32>) {
    let sy = id.y + p.band.z;
    if (id.x >= p.pw * 2u || id.y >= p.band.w || sy >= p.ph * 2u) {
        return;
    }
    let c = (sy & 1u) * 2u + (id.x & 1u);
    let x = i32(id.x >> 1u);
    let y = i32(sy >> 1u);
    let q = vec2<f32>(f32(x), f32(y)) + motion_at(f32(x), f32(y));
    var mean_ref = 0.0;
    var mean_alt = 0.0;
    for (var dy = -1; dy <= 1; dy++) {
        for (var dx = -1; dx <= 1; dx++) {
            mean_ref += ref_plane(c, x + dx, y + dy);
            mean_alt += alt_bilinear(c, q + vec2<f32>(f32(dx), f32(dy)));
        }
    }
    mean_ref /= 9.0;
    mean_alt /= 9.0;
    // The difference of two 9-pixel means of independent noise has variance 2σ²/9.
    let diff = mean_alt - mean_ref;
    let var_diff = 2.0 * noise_variance(mean_ref) / 9.0;
    let weight = exp(-diff * diff / (p.noise.z * var_diff));
    let i = (id.y * p.width + id.x) * 2u;
    acc[i] += weight * alt_bilinear(c, q);
    acc[i + 1u] += weight;
}

@compute @workgroup_size(16, 16)
fn merge_spatial_finish(@builtin(global_invocation_id) id: vec3<u32>) {
    let sy = id.y + p.band.z;
    if (id.x >= p.width || id.y >= p.band.w || sy >= p.height) {
        return;
    }
    var value = 0.0;
    if (id.x >= p.pw * 2u || sy >= p.ph * 2u) {
        value = ref_plane_any(id.x, sy);
    } else {
        let i = (id.y * p.width + id.x) * 2u;
        value = acc_in[i] / acc_in[i + 1u];
    }
    merged[id.y * p.width + id.x] = stored_level(value);
}

// ---- spatial denoising of the merged tiles (HDR+'s second step) -------------------------------

// After the temporal merge each tile still carries about σ²/N of noise. One more Wiener
// shrinkage on the merged tile's own spectrum, |M|² / (|M|² + c·σ²/N), removes what is left
// where the tile has no signal above it (flat areas), and keeps detail where it has.
// Runs on the accumulator in place, before the overlap-add. p.noise.w = c for this step.
@group(0) @binding(1) var<storage, read_write> tiles_acc: array<f32>;

@compute @workgroup_size(16, 16)
fn merge_wiener_denoise(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let tx = wg.x;
    let ty = wg.y / 4u;  // tile row within the band
    let c = wg.y % 4u;
    let u = i32(lid.x);
    let v = i32(lid.y);
    let k = lid.y * 16u + lid.x;
    let slot = ((c * p.band.y + ty) * p.tiles_x + tx) * 256u + k;
    // The accumulator holds the sum over frames of the windowed merged tile.
    ref_re[k] = tiles_acc[slot] / f32(p.frames);
    workgroupBarrier();
    var r = vec2<f32>(0.0);
    for (var n = 0; n < TILE; n++) {
        r += ref_re[v * TILE + n] * twiddle(u * n);
    }
    workgroupBarrier();
    ref_re[k] = r.x;
    ref_im[k] = r.y;
    workgroupBarrier();
    var f = vec2<f32>(0.0);
    for (var n = 0; n < TILE; n++) {
        f += cmul(vec2<f32>(ref_re[n * TILE + u], ref_im[n * TILE + u]), twiddle(v * n));
    }
    if (k == 0u) {
        tile_mean = f.x / 64.0;
    }
    workgroupBarrier();
    let sigma2 = noise_variance(tile_mean) * 36.0 / f32(p.frames);
    let f2 = dot(f, f);
    // The DC term is the tile's brightness, never noise to remove.
    var shrink = f2 / (f2 + p.noise.w * sigma2);
    if (k == 0u) {
        shrink = 1.0;
    }
    let px = inverse_dft(shrink * f, u, v, k);
    tiles_acc[slot] = px / 256.0 * f32(p.frames);
}

// ---- X-Trans -----------------------------------------------------------------------------------

// Window radius (sensor px) around the moved position: 7×7 sites hold 10–30 of each colour.
const XT_RADIUS: i32 = 3;
// Interpolation kernel exp(-d² · k) per colour: Gaussians of σ 0.7 px for the sparse red and blue
// (nearest same-colour sites 2–2.2 px apart) and 0.5 px for the dense green, narrow enough that
// the reference's own sample dominates its neighbours (little blur), wide enough that eight
// frames put several samples under it.
const XT_KERNEL: vec3<f32> = vec3<f32>(1.0204, 2.0, 1.0204);
// Robustness means: a Gaussian of σ 1.5 px over the same-colour sites of the window.
const XT_WIDE: f32 = 0.2222;

fn xtrans_color_at(x: i32, y: i32) -> u32 {
    let i = u32(y % 6) * 6u + u32(x % 6);
    return (p.xtrans[i / 12u] >> (2u * (i % 12u))) & 3u;
}

// Sensor value at whole-frame site (x, y) (inside the frame and the held crop).
fn ref_sensor(x: i32, y: i32) -> f32 {
    let i = held_index(u32(x), u32(y));
    let c = (u32(y) & 1u) * 2u + (u32(x) & 1u);
    return (u16_at(i, ref_raw[i >> 1u]) - p.ref_black[c]) * p.ref_inv_range[c];
}

fn alt_sensor(x: i32, y: i32) -> f32 {
    let i = held_index(u32(x), u32(y));
    let c = (u32(y) & 1u) * 2u + (u32(x) & 1u);
    return (u16_at(i, alt_raw[i >> 1u]) - p.alt_black[c]) * p.alt_inv_range[c];
}

fn inside(x: i32, y: i32) -> bool {
    return x >= 0 && y >= 0 && x < i32(p.width) && y < i32(p.height);
}

// One thread per reference pixel (band rows). The motion field is in gray pixels (align.wgsl:
// gray pixel g is the 3×3 window from sensor pixel 2g, centred on 2g + 1). Sites are in
// whole-frame coordinates (colours repeat every 6 rows of the whole frame, whatever crop the
// buffers hold; the host's crop holds every row the window reaches at the largest motion).
@compute @workgroup_size(16, 16)
fn merge_xtrans_frame(@builtin(global_invocation_id) id: vec3<u32>) {
    let sy = id.y + p.band.z;
    if (id.x >= p.width || id.y >= p.band.w || sy >= p.height) {
        return;
    }
    let px = vec2<i32>(i32(id.x), i32(sy));
    let c = xtrans_color_at(px.x, px.y);
    let pos = vec2<f32>(px);
    let q = pos + 2.0 * motion_at((pos.x - 1.0) / 2.0, (pos.y - 1.0) / 2.0);
    // floor(q + 0.5), not round(): WGSL rounds ties to even, the CPU twin would not.
    let qi = vec2<i32>(floor(q + 0.5));
    let k = XT_KERNEL[c];
    // Gaussian-weighted colour-c means around p (reference) and q (alternate): sums of g·v, g, g².
    var r = vec3<f32>(0.0);
    var a = vec3<f32>(0.0);
    // Kernel regression: sums of kernel·v and kernel.
    var kv = 0.0;
    var kw = 0.0;
    for (var dy = -XT_RADIUS; dy <= XT_RADIUS; dy++) {
        for (var dx = -XT_RADIUS; dx <= XT_RADIUS; dx++) {
            let rx = px.x + dx;
            let ry = px.y + dy;
            if (inside(rx, ry) && xtrans_color_at(rx, ry) == c) {
                let g = exp(-f32(dx * dx + dy * dy) * XT_WIDE);
                r += vec3<f32>(g * ref_sensor(rx, ry), g, g * g);
            }
            let ax = qi.x + dx;
            let ay = qi.y + dy;
            if (inside(ax, ay) && xtrans_color_at(ax, ay) == c) {
                let d = vec2<f32>(f32(ax), f32(ay)) - q;
                let d2 = dot(d, d);
                let v = alt_sensor(ax, ay);
                let g = exp(-d2 * XT_WIDE);
                a += vec3<f32>(g * v, g, g * g);
                let kernel = exp(-d2 * k);
                kv += kernel * v;
                kw += kernel;
            }
        }
    }
    // Moved off the frame: nothing of it lands here.
    if (a.y <= 0.0) {
        return;
    }
    let mean_ref = r.x / r.y;
    let diff = a.x / a.y - mean_ref;
    // Independent noise: a weighted mean has variance σ²·Σg²/(Σg)².
    let var_diff = max(noise_variance(mean_ref) * (r.z / (r.y * r.y) + a.z / (a.y * a.y)), 1e-20);
    let weight = exp(-diff * diff / (p.noise.z * var_diff));
    let i = (id.y * p.width + id.x) * 2u;
    acc[i] += weight * kv;
    acc[i + 1u] += weight * kw;
}
