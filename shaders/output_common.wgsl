// Shared by the kernels that write a photo's final pixels (tone, fused_look): the sRGB transfer,
// and two RGB pixels of 8/16-bit values packed as three u32 words — exactly the bytes the host
// keeps. Each including shader declares `out: array<u32>`.

fn srgb_oetf(x: f32) -> f32 {
    if (x <= 0.0031308) {
        return 12.92 * x;
    }
    return 1.055 * pow(x, 1.0 / 2.4) - 0.055;
}

// Pixel pair k: pixels 2k (a) and 2k + 1 (b, zero past the image's end).
fn store_pair(k: u32, a: vec3<u32>, b: vec3<u32>) {
    out[3u * k] = a.r | (a.g << 16u);
    out[3u * k + 1u] = a.b | (b.r << 16u);
    out[3u * k + 2u] = b.g | (b.b << 16u);
}
