// Shared by the alignment (align.wgsl) and the bracket warp (warp.wgsl): the tile grid, edge
// clamping and the Catmull-Rom weights.
//
// Tiles: TILE×TILE pixels at a stride of TILE/2, tile i starting at pixel STRIDE·i − STRIDE.

const TILE: i32 = 16;
const STRIDE: i32 = 8;

// Index of pixel (x, y) of a w×h image, edges repeated, in a buffer that holds its rows from
// y0 on (0: the whole image).
fn clamped_index(x: i32, y: i32, w: u32, h: u32, y0: u32) -> u32 {
    let cx = clamp(x, 0, i32(w) - 1);
    let cy = clamp(y, 0, i32(h) - 1);
    return (u32(cy) - y0) * w + u32(cx);
}

// Catmull-Rom weights of the four taps around a sample at fraction t past the second: sharper
// than bilinear, which would low-pass by an amount that depends on the fractional offset.
fn cubic_weights(t: f32) -> vec4<f32> {
    let t2 = t * t;
    let t3 = t2 * t;
    return 0.5 * vec4<f32>(-t3 + 2.0 * t2 - t, 3.0 * t3 - 5.0 * t2 + 2.0, -3.0 * t3 + 4.0 * t2 + t, t3 - t2);
}
