//! burstpipe: a GPU burst-photography engine. Raw frames are decoded on the CPU; every pixel stage
//! (normalize, demosaic, colour, tone) runs as a WGSL compute shader through wgpu, on any adapter.
//!
//! ```no_run
//! use burstpipe::{Engine, EngineOptions, Frame, Options};
//! let engine = Engine::new(&EngineOptions::default())?;
//! let frame = Frame::open("photo.dng")?;
//! let image = engine.develop(&frame, &Options::default())?;
//! image.save("photo.jpg")?;
//! # Ok::<(), burstpipe::Error>(())
//! ```

#![warn(missing_docs)]

mod burst;
mod error;
pub mod files;
mod gpu;
mod input;
mod options;
mod output;
mod photo_burst;
mod progress;
mod raw;
mod schedule;
mod stages;

use std::path::Path;

pub use burst::{Burst, MergeOptions, MotionField};
pub use error::{Error, Result};
pub use gpu::{AdapterInfo, Backend, Profile, StageTime, TimingSource};
pub use output::{DngCompression, Format};
pub use photo_burst::{BurstFiles, PhotoBurst};
pub use progress::Progress;
pub use raw::{Cfa, Exif, Frame, XTrans};
pub use schedule::batch::{
    gpu_bytes_estimate, run_batch, BatchEvent, BatchJob, BatchOptions, BatchReport, BatchStats,
};
pub use schedule::white_balance::WhiteBalance;
pub use stages::Binning;
pub use stages::Demosaic;
pub use stages::MergeMethod;

use schedule::develop::{self, Look};

/// Which device an [`Engine`] runs on.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Graphics API; `Auto` picks the best available (and honours `WGPU_BACKEND`).
    pub backend: Backend,
    /// Adapter index as listed by [`Engine::adapters`]; `None` takes the best (index 0).
    pub adapter: Option<usize>,
}

/// How to develop a raw frame: the one options type that the CLI, the Python module and the C
/// API all map into. Each option value parses from its CLI name, and an unknown name's error
/// lists the choices:
///
/// ```
/// use burstpipe::{Options, Tone};
/// let options = Options {
///     demosaic: "mhc".parse()?,
///     tone: "curve".parse()?,
///     white_balance: "2.1,1,1.5".parse()?,
///     ..Options::default()
/// };
/// assert_eq!(options.tone, Tone::Curve);
/// assert_eq!(options.demosaic.to_string(), "mhc");
/// assert!("fast".parse::<Tone>().unwrap_err().contains("fusion, curve or linear"));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    /// Demosaicing method.
    pub demosaic: Demosaic,
    /// Exposure correction in EV; `None` chooses it from the image (automatic exposure). Both
    /// are relative to the file's DNG BaselineExposure ([`Frame::baseline_exposure`]), which the
    /// colour stage applies first.
    pub exposure_ev: Option<f32>,
    /// Output bits per channel, 8 or 16.
    pub bits: u8,
    /// Process at most this many rows at a time (default: as many as the device's buffers allow).
    pub max_band_rows: Option<u32>,
    /// Same-colour pixel binning before demosaicing (default off); when merging, before alignment.
    pub binning: Binning,
    /// Quad Bayer / Nonacell frames: remosaic to a full-resolution Bayer mosaic instead of
    /// binning their same-colour blocks (default false: binned). Bayer frames are unaffected.
    pub remosaic: bool,
    /// Tone mapping: synthetic-exposure fusion (default), the plain tone curve, or none
    /// (scene-referred linear output).
    pub tone: Tone,
    /// White balance (default: as shot, estimated when the file has none usable).
    pub white_balance: WhiteBalance,
}

/// How a developed photo's tones are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    /// Auto HDR that keeps colour, as HDR+ does it: the linear image's luminance is rendered at
    /// a short exposure (the brightest values land on white) and a long one (as many stops over
    /// it as lifting the darkest 5 % to a visible level takes: none for a scene the display
    /// holds, up to 6), the two are fused like a real bracket (Mertens exposure fusion), and each
    /// pixel's linear RGB is scaled by fused / own luminance (hue and saturation kept; clipped
    /// highlights fade to white); a gentle S-curve gives back global contrast. Images larger
    /// than one GPU binding are fused in bands, with the same result.
    #[default]
    Fusion,
    /// Exposure gain, highlight shoulder and sRGB transfer.
    Curve,
    /// No tone mapping, for editors and measurement: scene-referred linear sRGB (white balance
    /// and colour matrix applied), 16 bits per channel, no transfer curve, values above 1
    /// clipped. The exposure is the raw one: [`Options::exposure_ev`] or 0 EV, never automatic
    /// (an editor sets exposure itself, and brightening would clip highlights it could still
    /// recover). Needs 16 bits: 8-bit linear would posterize the shadows, so 8 is an error
    /// (the CLI refuses JPEG output with it).
    Linear,
}

impl Tone {
    /// Parse "fusion", "curve" or "linear".
    pub fn parse(s: &str) -> Option<Tone> {
        match s.to_ascii_lowercase().as_str() {
            "fusion" => Some(Tone::Fusion),
            "curve" => Some(Tone::Curve),
            "linear" => Some(Tone::Linear),
            _ => None,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            demosaic: Demosaic::Rcd,
            exposure_ev: None,
            bits: 16,
            max_band_rows: None,
            binning: Binning::Off,
            remosaic: false,
            tone: Tone::Fusion,
            white_balance: WhiteBalance::AsShot,
        }
    }
}

/// A finished RGB image in memory: what a host application displays or saves.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Width in pixels (after orientation).
    pub width: u32,
    /// Height in pixels (after orientation).
    pub height: u32,
    /// Bits per channel of `data`: 8 (values 0..=255) or 16 (0..=65535).
    pub bits: u8,
    /// RGB interleaved, row-major, sRGB-encoded for developed photos (linear light with
    /// [`Tone::Linear`]).
    pub data: Vec<u16>,
    /// Capture metadata carried into saved files.
    pub exif: Exif,
}

impl Image {
    /// Read a finished photo (JPEG, PNG or TIFF): 8-bit files stay 8-bit, deeper ones become 16-bit.
    pub fn open(path: impl AsRef<Path>) -> Result<Image> {
        input::open(path.as_ref())
    }

    /// Save as PNG, JPEG or TIFF by the extension of `path` (written to a temporary file, then
    /// renamed: an existing file is replaced only by a complete new one).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        output::save(self, path.as_ref())
    }
}

/// A GPU device ready to run burstpipe's kernels. Create one and keep it: pipelines are compiled
/// once per engine. An engine can be shared between threads.
pub struct Engine {
    gpu: gpu::Gpu,
    /// The options it was opened with (to open its adapter again after a device loss).
    options: EngineOptions,
}

impl Engine {
    /// Open the adapter chosen by `options`.
    pub fn new(options: &EngineOptions) -> Result<Engine> {
        Ok(Engine {
            gpu: gpu::Gpu::new(options.backend, options.adapter)?,
            options: options.clone(),
        })
    }

    /// A new engine on the same adapter (after this one's device was lost).
    pub(crate) fn reopen(&self) -> Result<Engine> {
        Engine::new(&self.options)
    }

    /// Whether this engine's device is lost: every call fails with [`Error::DeviceLost`], and
    /// only a new engine works.
    pub fn is_lost(&self) -> bool {
        self.gpu.is_lost()
    }

    /// Destroy this engine's device, as a driver reset or an unplugged GPU would lose it: for
    /// testing how callers handle [`Error::DeviceLost`]. Calls running fail at their next step.
    #[doc(hidden)]
    pub fn lose_device_for_testing(&self) {
        self.gpu.destroy();
    }

    /// `result` of a public call (`doing`: what it did, e.g. "developing photo.dng"), checked for
    /// a GPU error that escaped its scopes (it becomes the call's error), and with `doing` added
    /// to a device loss.
    pub(crate) fn finish<T>(&self, doing: &dyn Fn() -> String, result: Result<T>) -> Result<T> {
        // Taken even when the call failed already, so that it does not fail the next call.
        let doing = doing();
        let pending = self.gpu.check(&doing);
        let result = result.and_then(|v| pending.map(|()| v));
        result.map_err(|e| match e {
            Error::DeviceLost(m) if !m.contains(&doing) => {
                Error::DeviceLost(format!("{m}, {doing}"))
            }
            e => e,
        })
    }

    /// Every adapter wgpu finds for `backend`, best first.
    pub fn adapters(backend: Backend) -> Vec<AdapterInfo> {
        gpu::list_adapters(backend)
    }

    /// The adapter this engine runs on.
    pub fn adapter(&self) -> &AdapterInfo {
        &self.gpu.info
    }

    /// Run `work` on this engine with per-stage timing and return its result with the
    /// [`Profile`]: every submission to the device (one per stage, band or frame) with its device
    /// time — from GPU timestamp queries where the adapter has them
    /// ([`AdapterInfo::timestamp_queries`]), else the wall clock, as each stage says — and the
    /// bytes it moved. Without `profile` nothing is timed and nothing costs extra.
    ///
    /// Stages that other threads run on this engine meanwhile are counted too, and profiles do not
    /// nest (a nested call is an [`Error::InvalidInput`]).
    ///
    /// ```no_run
    /// # use burstpipe::{Engine, EngineOptions, Frame, Options};
    /// # let engine = Engine::new(&EngineOptions::default())?;
    /// # let frame = Frame::open("photo.dng")?;
    /// let (image, profile) = engine.profile(|e| e.develop(&frame, &Options::default()))?;
    /// for stage in profile.by_name() {
    ///     println!("{}: {:.1} ms ({})", stage.name, stage.gpu_ms, stage.source.name());
    /// }
    /// # Ok::<(), burstpipe::Error>(())
    /// ```
    pub fn profile<T>(&self, work: impl FnOnce(&Engine) -> Result<T>) -> Result<(T, Profile)> {
        self.gpu.profiler.start()?;
        let start = std::time::Instant::now();
        let out = work(self);
        let wall_ms = start.elapsed().as_secs_f64() * 1e3;
        let stages = self.gpu.profiler.stop();
        Ok((out?, Profile { stages, wall_ms }))
    }

    /// Develop one raw frame into a finished, correctly oriented photo.
    pub fn develop(&self, frame: &Frame, options: &Options) -> Result<Image> {
        self.develop_with_progress(frame, options, &mut progress::ignore)
    }

    /// [`Engine::develop`], calling `progress(done, total, stage)` after each step (binning, each
    /// band coloured, the exposure chosen, each band toned). Return `ControlFlow::Break(())` from
    /// it to cancel: the develop stops at that step with [`Error::Cancelled`], nothing is left
    /// running on the GPU and the engine stays usable.
    pub fn develop_with_progress(
        &self,
        frame: &Frame,
        options: &Options,
        progress: &mut Progress,
    ) -> Result<Image> {
        let (bits, _) = photo_look(options)?;
        // Errors come from the render itself, with its own wording.
        let size = develop::rendered_size(frame, options.binning, options.remosaic);
        let r = develop::collect(size.unwrap_or((0, 0)), |sink| {
            self.render_photo(frame, options, progress, sink)
        });
        let r = self.finish(&|| format!("developing {}", frame.source().display()), r)?;
        Ok(finished(r, frame, bits))
    }

    /// Render `frame` as a photo, the rows to `sink` band by band; returns the size rendered.
    fn render_photo(
        &self,
        frame: &Frame,
        options: &Options,
        progress: &mut Progress,
        sink: &mut develop::RowSink,
    ) -> Result<(u32, u32)> {
        let (bits, look) = photo_look(options)?;
        develop::render_binned_into(
            &self.gpu,
            frame,
            options.binning,
            options.remosaic,
            options.demosaic,
            look,
            bits,
            options.max_band_rows,
            progress,
            sink,
        )
    }

    /// Develop one raw frame and save it to `path` (PNG, JPEG or TIFF by extension), each band
    /// written as the GPU finishes it: the same file as [`Engine::develop`] and [`Image::save`]
    /// (the same pixels; a PNG's compressed stream may be cut differently), without holding the
    /// whole photo in memory — PNG streams its rows, JPEG keeps 8 bits a channel, TIFF and turned
    /// frames (EXIF orientation) the whole image. `progress` as in
    /// [`Engine::develop_with_progress`]. On any failure (cancel, GPU, disk) no file is written
    /// and an existing one is left as it was. Returns the photo's width and height (upright).
    pub fn develop_to_file(
        &self,
        frame: &Frame,
        options: &Options,
        path: impl AsRef<Path>,
        progress: &mut Progress,
    ) -> Result<(u32, u32)> {
        let (bits, _) = photo_look(options)?;
        let (width, height) = develop::rendered_size(frame, options.binning, options.remosaic)?;
        let photo = output::stream::Photo {
            width,
            height,
            bits: bits as u8,
            orientation: frame.orientation,
            exif: &frame.exif,
        };
        let saved = output::stream::save_rendered(path.as_ref(), &photo, |sink| {
            self.render_photo(frame, options, progress, sink)
                .map(|_| ())
        });
        self.finish(
            &|| format!("developing {}", frame.source().display()),
            saved,
        )?;
        Ok(match frame.orientation {
            5..=8 => (height, width),
            _ => (width, height),
        })
    }

    /// Develop a mosaic already on the GPU (a merged burst), with `frame`'s colour and metadata.
    pub(crate) fn develop_source(
        &self,
        frame: &Frame,
        source: &develop::Source,
        options: &Options,
        progress: &mut Progress,
    ) -> Result<Image> {
        let (bits, look) = photo_look(options)?;
        let method = develop::method_for(frame, Binning::Off, options.demosaic)?;
        let bands = develop::plan_bands(
            &self.gpu,
            frame,
            source.size(frame),
            false,
            options.max_band_rows,
        )?;
        let size = source.size(frame);
        let r = develop::collect(size, |sink| {
            develop::render_source_into(
                &self.gpu,
                frame,
                source,
                &bands,
                method,
                look,
                bits,
                options.max_band_rows,
                progress,
                sink,
            )
            .map(|()| size)
        })?;
        Ok(finished(r, frame, bits))
    }

    /// The white-balance multipliers (R, G, B; G = 1) a develop with `white_balance` uses for
    /// this frame: [`WhiteBalance::Auto`] (and `AsShot` on a file without a usable as-shot
    /// white) estimates them on this engine's GPU.
    pub fn white_balance(&self, frame: &Frame, white_balance: WhiteBalance) -> Result<[f32; 3]> {
        let m = schedule::white_balance::multipliers(&self.gpu, frame, white_balance);
        self.finish(
            &|| format!("white-balancing {}", frame.source().display()),
            m,
        )
    }

    /// Demosaic only: the mosaic's values interpolated, no colour or tone (for evaluating and
    /// comparing demosaicers). Output values are on the `bits` scale, black 0 and white max.
    pub fn demosaic(&self, frame: &Frame, method: Demosaic, bits: u8) -> Result<Image> {
        let bits = check_bits(bits)?;
        let r = develop::render(&self.gpu, frame, method, Look::Plain, bits, None);
        let r = self.finish(&|| format!("demosaicing {}", frame.source().display()), r)?;
        Ok(Image {
            width: r.width,
            height: r.height,
            bits: bits as u8,
            data: r.data,
            exif: frame.exif.clone(),
        })
    }
}

/// How to fuse a bracket of exposures (Mertens, Kautz & Van Reeth 2007). Each pixel's weight in
/// each exposure is contrast^c × saturation^s × well-exposedness^e; an exponent of 0 switches that
/// measure off. The defaults (all 1) are the paper's; OpenCV's MergeMertens defaults to 1, 1, 0 and
/// enfuse's to 0, 0.2, 1.
#[derive(Debug, Clone)]
pub struct FuseOptions {
    /// Exponent of the contrast measure (absolute Laplacian of the grey image).
    pub contrast: f32,
    /// Exponent of the saturation measure (spread of R, G, B).
    pub saturation: f32,
    /// Exponent of the well-exposedness measure (Gaussian around 0.5, σ = 0.2).
    pub exposedness: f32,
    /// Output bits per channel, 8 or 16; `None`: the deepest input's.
    pub bits: Option<u8>,
    /// Align the exposures to the middle one before fusing (handheld brackets; default on). The
    /// exposures' brightness ratios come from EXIF (time × ISO / f-number²) or, without it, are
    /// estimated from the images; areas one exposure clips are left out of the matching. Each
    /// exposure moves by one robustly fitted global motion (local motion only where matches are
    /// reliable and agree with their neighbours); one whose alignment explains nothing, or
    /// moves less than a pixel, is fused as it is (a steady bracket fuses exactly as with
    /// `align: false`). Off: the exposures are taken as already aligned (tripod).
    pub align: bool,
    /// Where every exposure is flat or exactly neutral (grey), all of Mertens' weights are 0
    /// and say nothing: by default such a pixel takes the weights of the pixels around it (5×5,
    /// the footprint of the pyramid's kernel), so a grey patch follows the exposures chosen
    /// around it. True weighs the exposures equally there instead, which is what OpenCV's
    /// MergeMertens does (but for its float rounding): for comparisons with it.
    pub opencv_neutral: bool,
}

impl Default for FuseOptions {
    fn default() -> Self {
        FuseOptions {
            contrast: 1.0,
            saturation: 1.0,
            exposedness: 1.0,
            bits: None,
            align: true,
            opencv_neutral: false,
        }
    }
}

impl Engine {
    /// Fuse a bracket of exposures of one scene (finished, sRGB-encoded photos, any mix of 8 and
    /// 16 bits, all the same size) into one photo with detail in shadows and highlights. Handheld
    /// brackets are aligned to the middle exposure first (see [`FuseOptions::align`]).
    pub fn fuse(&self, exposures: &[Image], options: &FuseOptions) -> Result<Image> {
        self.fuse_with_progress(exposures, options, &mut progress::ignore)
    }

    /// [`Engine::fuse`], calling `progress(done, total, stage)` after each step (exposures
    /// uploaded, fused, downloaded); `ControlFlow::Break(())` cancels with [`Error::Cancelled`]
    /// and leaves the engine usable.
    pub fn fuse_with_progress(
        &self,
        exposures: &[Image],
        options: &FuseOptions,
        progress: &mut Progress,
    ) -> Result<Image> {
        let deepest = exposures.iter().map(|i| i.bits).max().unwrap_or(8);
        let bits = check_bits(options.bits.unwrap_or(deepest))?;
        let e = stages::fusion::Exponents {
            contrast: options.contrast,
            saturation: options.saturation,
            exposedness: options.exposedness,
            from_neighbours: !options.opencv_neutral,
        };
        let fused = schedule::fuse::fuse_images(
            &self.gpu,
            exposures,
            e,
            bits,
            options.align,
            None,
            progress,
        );
        self.finish(&|| format!("fusing {} exposures", exposures.len()), fused)
    }
}

/// The rendered pixels oriented as the frame says, with its metadata.
fn finished(r: develop::Rendered, frame: &Frame, bits: u32) -> Image {
    let (width, height, data) = output::orient(r.width, r.height, r.data, frame.orientation);
    Image {
        width,
        height,
        bits: bits as u8,
        data,
        exif: frame.exif.clone(),
    }
}

/// The bit depth and look of a photo developed with `options`.
fn photo_look(options: &Options) -> Result<(u32, Look)> {
    let look = Look::Photo {
        exposure_ev: options.exposure_ev,
        tone: options.tone,
        white_balance: options.white_balance,
    };
    if options.tone == Tone::Linear && options.bits != 16 {
        return Err(Error::InvalidInput(format!(
            "linear output (tone linear) needs 16 bits per channel, got {}: 8-bit linear light posterizes the shadows",
            options.bits
        )));
    }
    Ok((check_bits(options.bits)?, look))
}

fn check_bits(bits: u8) -> Result<u32> {
    match bits {
        8 | 16 => Ok(bits as u32),
        b => Err(Error::InvalidInput(format!(
            "{b} bits per channel: use 8 or 16"
        ))),
    }
}
