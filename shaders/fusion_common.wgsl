// Shared by the exposure-fusion kernels (mertens, weight_map, pyramid, expose), prepended to each.

// Every fusion kernel writes the rows [row0, row0 + rows) of one level (a band: images larger than
// one binding are processed a band at a time). Bindings of the level written start at row0; the
// level read besides ("other": finer, coarser, or the input image) is bound from row other_row0.
struct Params {
    width: u32,        // the level this dispatch writes
    height: u32,
    row0: u32,
    rows: u32,
    other_width: u32,  // the level read besides
    other_height: u32,
    other_row0: u32,
    top: u32,          // blend_level: 1 at the coarsest level, which has no coarser level to subtract
    k: vec4<f32>,      // mertens_weight: the exponents; synthetic_exposure: the gain in k.x
}

@group(0) @binding(0) var<uniform> p: Params;

// The 5-tap binomial kernel [1 4 6 4 1]/16 of every pyramid (Burt & Adelson).
const TAPS = array<f32, 5>(0.0625, 0.25, 0.375, 0.25, 0.0625);

// Mirrored border without repeating the edge pixel (x = -1 reads x = 1), as OpenCV's default.
fn reflect101(v: i32, n: i32) -> i32 {
    if (n == 1) {
        return 0;
    }
    var m = v;
    if (m < 0) { m = -m; }
    if (m >= n) { m = 2 * n - 2 - m; }
    if (m < 0) { m = -m; }
    return clamp(m, 0, n - 1);
}

// The pyramid kernels compute a 2×2 block of their level per invocation (columns x0, x0 + 1 and
// band rows r0, r0 + 1): neighbouring outputs share most of their source pixels, so each source
// pixel is read and unpacked once per block instead of once per output. A block at the right or
// bottom edge of an odd-sized level or band has only some of its four pixels.
// The block of invocation `id`: its first column and band row, and which of its four pixels exist.
struct Block {
    x0: u32,
    r0: u32,
    second: vec2<bool>,
}

fn block_of(id: vec3<u32>) -> Block {
    let x0 = 2u * id.x;
    let r0 = 2u * id.y;
    return Block(x0, r0, vec2<bool>(x0 + 1u < p.width, r0 + 1u < p.rows));
}

// Whether pixel q of the block (0: (x0, r0), 1: (x0 + 1, r0), 2: (x0, r0 + 1), 3: both + 1)
// exists.
fn in_block(b: Block, q: u32) -> bool {
    return ((q & 1u) == 0u || b.second.x) && (q < 2u || b.second.y);
}

// Reductions (pyr_down_*): a block's two outputs of a row read seven source columns
// (2·x0 - 2 .. 2·x0 + 4; five for a one-column block), mirrored once here.
fn reduce_columns(b: Block) -> array<u32, 7> {
    var sx: array<u32, 7>;
    let n = select(5, 7, b.second.x);
    for (var k = 0; k < n; k++) {
        sx[k] = u32(reflect101(2 * i32(b.x0) + k - 2, i32(p.other_width)));
    }
    return sx;
}

// How many source rows a reduction block reads (seven; five for a one-row block).
fn reduce_rows(b: Block) -> i32 {
    return select(5, 7, b.second.y);
}

// Where source row k of a reduction block starts in the band's binding of the finer level.
fn reduce_row(b: Block, k: i32) -> u32 {
    let y = reflect101(2 * i32(b.r0 + p.row0) + k - 2, i32(p.other_height));
    return u32(y - i32(p.other_row0)) * p.other_width;
}

// The vertical taps of source row k for the block's first and second output row.
fn reduce_taps(k: i32) -> vec2<f32> {
    return vec2<f32>(select(0.0, TAPS[min(k, 4)], k < 5), select(0.0, TAPS[max(k - 2, 0)], k >= 2));
}
