//! Option values by name, for every front (the CLI, the Python module, the C API): each option
//! type parses from the name the CLI uses (`"rcd".parse::<Demosaic>()`) and prints back to it, and
//! a name that is not one gives a message listing the choices, ready to show a user.

use std::fmt;
use std::str::FromStr;

use crate::{Backend, Binning, Demosaic, MergeMethod, Tone, WhiteBalance};

/// Parse and print an option type by its names; `$choices` ends the message for an unknown name.
macro_rules! named_option {
    ($ty:ty, $what:literal, $choices:literal) => {
        impl FromStr for $ty {
            type Err = String;
            /// The value named `s` (any case); else a message naming the choices.
            fn from_str(s: &str) -> Result<Self, String> {
                <$ty>::parse(s).ok_or_else(|| format!(concat!("unknown ", $what, " '{}': use ", $choices), s))
            }
        }
    };
}

named_option!(Demosaic, "demosaic method", "rcd, mhc, bilinear, markesteijn or xtrans-bilinear");
named_option!(Binning, "binning", "2, 3, superpixel or off");
named_option!(Tone, "tone mapping", "fusion, curve or linear");
named_option!(
    WhiteBalance,
    "white balance",
    "as-shot, auto, daylight or three positive multipliers R,G,B"
);
named_option!(MergeMethod, "merge method", "wiener or spatial");
named_option!(Backend, "backend", "auto, vulkan, metal, dx12 or gl");

impl fmt::Display for Demosaic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Demosaic::Bilinear => "bilinear",
            Demosaic::Mhc => "mhc",
            Demosaic::Rcd => "rcd",
            Demosaic::XtransBilinear => "xtrans-bilinear",
            Demosaic::Markesteijn => "markesteijn",
        })
    }
}

impl fmt::Display for Binning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Binning::Off => "off",
            Binning::Bayer2 => "2",
            Binning::Bayer3 => "3",
            Binning::Superpixel => "superpixel",
        })
    }
}

impl fmt::Display for Tone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tone::Fusion => "fusion",
            Tone::Curve => "curve",
            Tone::Linear => "linear",
        })
    }
}

impl fmt::Display for WhiteBalance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WhiteBalance::AsShot => f.write_str("as-shot"),
            WhiteBalance::Auto => f.write_str("auto"),
            WhiteBalance::Daylight => f.write_str("daylight"),
            WhiteBalance::Multipliers([r, g, b]) => write!(f, "{r},{g},{b}"),
        }
    }
}

impl fmt::Display for MergeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MergeMethod::Wiener => "wiener",
            MergeMethod::Spatial => "spatial",
        })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::Vulkan => "vulkan",
            Backend::Metal => "metal",
            Backend::Dx12 => "dx12",
            Backend::Gl => "gl",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value prints to a name that parses back to it.
    #[test]
    fn names_round_trip() {
        fn round_trip<T: FromStr<Err = String> + fmt::Display + PartialEq + fmt::Debug>(v: T) {
            assert_eq!(v.to_string().parse::<T>().unwrap(), v);
        }
        for d in [
            Demosaic::Bilinear,
            Demosaic::Mhc,
            Demosaic::Rcd,
            Demosaic::XtransBilinear,
            Demosaic::Markesteijn,
        ] {
            round_trip(d);
        }
        for b in [Binning::Off, Binning::Bayer2, Binning::Bayer3, Binning::Superpixel] {
            round_trip(b);
        }
        for t in [Tone::Fusion, Tone::Curve, Tone::Linear] {
            round_trip(t);
        }
        for w in [
            WhiteBalance::AsShot,
            WhiteBalance::Auto,
            WhiteBalance::Daylight,
            WhiteBalance::Multipliers([2.5, 1.0, 1.25]),
        ] {
            round_trip(w);
        }
        round_trip(MergeMethod::Wiener);
        round_trip(MergeMethod::Spatial);
        for b in [Backend::Auto, Backend::Vulkan, Backend::Metal, Backend::Dx12, Backend::Gl] {
            round_trip(b);
        }
    }

    /// An unknown name's message names it and the choices.
    #[test]
    fn unknown_names_list_the_choices() {
        let e = "fast".parse::<Demosaic>().unwrap_err();
        assert!(e.contains("'fast'") && e.contains("rcd, mhc"), "{e}");
        let e = "5".parse::<Binning>().unwrap_err();
        assert_eq!(e, "unknown binning '5': use 2, 3, superpixel or off");
        let e = "1,0,1".parse::<WhiteBalance>().unwrap_err();
        assert!(e.contains("R,G,B"), "{e}");
        assert!("cuda".parse::<Backend>().unwrap_err().contains("vulkan"));
    }
}
