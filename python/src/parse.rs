//! TEMPORARY bridge to the library's option parsers, until its FromStr implementations land.

use pyo3::prelude::*;

use burstpipe::{Binning, Demosaic, MergeMethod, Tone, WhiteBalance, Backend};

/// An option type the library can parse from text.
pub trait ParseOption: Sized {
    fn parse_option(s: &str) -> Result<Self, String>;
    /// Text for a non-text Python value, where the option takes one (`bin=2`, `wb=(r, g, b)`).
    fn text_of(_v: &Bound<'_, PyAny>) -> Option<PyResult<String>> {
        None
    }
}

macro_rules! parse_option {
    ($t:ty, $what:expr) => {
        impl ParseOption for $t {
            fn parse_option(s: &str) -> Result<Self, String> {
                <$t>::parse(s).ok_or_else(|| format!(concat!("unknown ", $what, " '{}'"), s))
            }
        }
    };
}
parse_option!(Demosaic, "demosaic method");
parse_option!(Tone, "tone mapping");
parse_option!(MergeMethod, "merge method");
parse_option!(Backend, "backend");

impl ParseOption for Binning {
    fn parse_option(s: &str) -> Result<Self, String> {
        Binning::parse(s).ok_or_else(|| format!("unknown binning '{s}'"))
    }
    fn text_of(v: &Bound<'_, PyAny>) -> Option<PyResult<String>> {
        v.extract::<u32>().ok().map(|n| Ok(n.to_string()))
    }
}

impl ParseOption for WhiteBalance {
    fn parse_option(s: &str) -> Result<Self, String> {
        WhiteBalance::parse(s).ok_or_else(|| format!("unknown white balance '{s}'"))
    }
    fn text_of(v: &Bound<'_, PyAny>) -> Option<PyResult<String>> {
        v.extract::<Vec<f64>>()
            .ok()
            .map(|m| Ok(m.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")))
    }
}
