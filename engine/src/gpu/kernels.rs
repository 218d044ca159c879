//! Every WGSL kernel family, embedded at build time. One file per family in `shaders/`.

/// A WGSL source file and its name.
pub(crate) struct Kernel {
    pub name: &'static str,
    pub source: &'static str,
}

macro_rules! kernel {
    ($ident:ident, $name:literal) => {
        pub(crate) const $ident: Kernel = Kernel {
            name: $name,
            source: include_str!(concat!("../../../shaders/", $name, ".wgsl")),
        };
    };
    ($ident:ident, $name:literal, after $common:literal) => {
        pub(crate) const $ident: Kernel = Kernel {
            name: $name,
            source: concat!(
                include_str!(concat!("../../../shaders/", $common, ".wgsl")),
                include_str!(concat!("../../../shaders/", $name, ".wgsl"))
            ),
        };
    };
}

kernel!(NORMALIZE, "normalize");
kernel!(NORMALIZE_RGB, "normalize_rgb");
kernel!(DEMOSAIC, "demosaic");
kernel!(DEMOSAIC_RCD, "demosaic_rcd", after "demosaic_common");
kernel!(DEMOSAIC_XTRANS, "demosaic_xtrans", after "demosaic_common");
kernel!(BINNING, "binning");
kernel!(REMOSAIC, "remosaic");
kernel!(COLOR, "color");
kernel!(TONE, "tone", after "output_common");
kernel!(STATS, "stats");
kernel!(WB_STATS, "wb_stats");
kernel!(ALIGN, "align", after "tiles_common");
kernel!(MERGE, "merge");
kernel!(MERTENS, "mertens", after "fusion_common");
kernel!(WEIGHT_MAP, "weight_map", after "fusion_common");
kernel!(PYRAMID, "pyramid", after "fusion_common");
kernel!(EXPOSE, "expose", after "fusion_common");
kernel!(WARP, "warp", after "tiles_common");
kernel!(FUSED_LOOK, "fused_look", after "output_common");
kernel!(GAIN_MAP, "gain_map", after "pixels_common");
kernel!(MAP_POLYNOMIAL, "map_polynomial", after "pixels_common");
kernel!(MAP_TABLE, "map_table", after "pixels_common");
kernel!(BAD_PIXELS, "bad_pixels");
kernel!(WARP_RECTILINEAR, "warp_rectilinear");
kernel!(PHOTO_ENCODE, "photo_encode", after "output_common");

/// All kernels, for validation.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const KERNELS: &[&Kernel] = &[
    &NORMALIZE,
    &NORMALIZE_RGB,
    &DEMOSAIC,
    &DEMOSAIC_RCD,
    &DEMOSAIC_XTRANS,
    &BINNING,
    &REMOSAIC,
    &COLOR,
    &TONE,
    &STATS,
    &WB_STATS,
    &ALIGN,
    &MERGE,
    &MERTENS,
    &WEIGHT_MAP,
    &PYRAMID,
    &EXPOSE,
    &WARP,
    &FUSED_LOOK,
    &GAIN_MAP,
    &MAP_POLYNOMIAL,
    &MAP_TABLE,
    &BAD_PIXELS,
    &WARP_RECTILINEAR,
    &PHOTO_ENCODE,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shader parses and validates with naga: no GPU needed. pack2x16float needs
    /// FLOAT16_IN_FLOAT32, which every wgpu backend offers (GL through packHalf2x16).
    #[test]
    fn every_shader_validates_with_naga() {
        for k in KERNELS {
            let module = naga::front::wgsl::parse_str(k.source)
                .unwrap_or_else(|e| panic!("{}.wgsl: {}", k.name, e.emit_to_string(k.source)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32,
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}.wgsl: {}", k.name, e.emit_to_string(k.source)));
        }
    }
}
