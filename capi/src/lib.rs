//! The C API of burstpipe: opaque handles (`bp_engine`, `bp_image`) and plain functions over the
//! Rust library, declared in `include/burstpipe.h` (generated from this file by cbindgen).
//!
//! Conventions every entry point keeps:
//! - No panic crosses the boundary: each body runs under `catch_unwind`; a panic becomes an
//!   error like any other.
//! - Failure is NULL (for handles) or -1 (for status codes), and `bp_last_error()` says why, for
//!   the calling thread.
//! - Option structs start with `struct_size` (set by the `bp_*_default()` initialisers): a
//!   caller built against an older, shorter struct gets the defaults for the fields it lacks.
//! - Option values are the CLI's names as strings (NULL = the default), parsed by the library's
//!   one options layer (`FromStr`), so the three fronts agree on names and messages.

#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::ptr;

use burstpipe::{files, Burst, Engine, EngineOptions, Frame, FuseOptions, Image, MergeOptions, Options};

/// A GPU device ready to run burstpipe's kernels (compiled once per engine: keep it). Shareable:
/// any number of threads may call functions on one engine at once.
pub struct bp_engine {
    engine: Engine,
    adapter: CString,
}

/// A finished RGB image, owned by the caller: free it with `bp_image_free`.
pub struct bp_image {
    image: Image,
}

/// Which device `bp_engine_new` opens. Initialise with `bp_engine_options_default()`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct bp_engine_options {
    /// `sizeof(bp_engine_options)`, as the initialiser sets it.
    pub struct_size: usize,
    /// Graphics API: "auto", "vulkan", "metal", "dx12" or "gl"; NULL = "auto".
    pub backend: *const c_char,
    /// Adapter index as `burstpipe devices` lists them; -1 = the best one.
    pub adapter: c_int,
}

/// How a raw frame is developed. Initialise with `bp_options_default()`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct bp_options {
    /// `sizeof(bp_options)`, as the initialiser sets it.
    pub struct_size: usize,
    /// Demosaicing: "rcd", "mhc", "bilinear", "markesteijn", "xtrans-bilinear"; NULL = "rcd".
    pub demosaic: *const c_char,
    /// Tone mapping: "fusion", "curve" or "linear"; NULL = "fusion".
    pub tone: *const c_char,
    /// White balance: "as-shot", "auto", "daylight" or "R,G,B"; NULL = "as-shot".
    pub white_balance: *const c_char,
    /// Binning: "off", "2", "3" or "superpixel"; NULL = "off".
    pub binning: *const c_char,
    /// Exposure correction in EV; NaN = automatic (the default).
    pub exposure_ev: f32,
    /// Output bits per channel: 8 or 16 (default 16).
    pub bits: c_int,
    /// Non-zero: remosaic Quad Bayer / Nonacell raws instead of binning them (default 0).
    pub remosaic: c_int,
}

/// How a burst is merged. Initialise with `bp_merge_options_default()`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct bp_merge_options {
    /// `sizeof(bp_merge_options)`, as the initialiser sets it.
    pub struct_size: usize,
    /// How the merged burst is developed; NULL = the defaults.
    pub develop: *const bp_options,
    /// Merge method: "wiener" or "spatial"; NULL = "wiener".
    pub method: *const c_char,
    /// Noise reduction strength (default 1).
    pub strength: f32,
    /// Reference frame index; -1 = automatic (the sharpest of the first three).
    pub reference: c_int,
    /// Use only the first this many frames; 0 = all.
    pub frames: c_int,
}

/// How a bracket is fused (Mertens exposure fusion). Initialise with `bp_fuse_options_default()`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct bp_fuse_options {
    /// `sizeof(bp_fuse_options)`, as the initialiser sets it.
    pub struct_size: usize,
    /// Exponent of the contrast weight (default 1; 0 switches it off).
    pub contrast: f32,
    /// Exponent of the saturation weight (default 1).
    pub saturation: f32,
    /// Exponent of the well-exposedness weight (default 1).
    pub exposedness: f32,
    /// Output bits per channel, 8 or 16; 0 = the deepest input's (default).
    pub bits: c_int,
    /// Non-zero: align the exposures first (default 1; 0 for a tripod bracket).
    pub align: c_int,
    /// Non-zero: weigh exposures equally where all weights are 0, as OpenCV does (default 0).
    pub opencv_neutral: c_int,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Run `body`, turning an error or a panic into `failed` and the thread's last error.
fn guard<T>(failed: T, body: impl FnOnce() -> Result<T, String>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(message)) => {
            set_error(&message);
            failed
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            set_error(&format!("internal error (a bug in burstpipe: please report it): {what}"));
            failed
        }
    }
}

/// A C string argument; NULL is `None`.
unsafe fn opt_str<'a>(s: *const c_char, what: &str) -> Result<Option<&'a str>, String> {
    if s.is_null() {
        return Ok(None);
    }
    CStr::from_ptr(s)
        .to_str()
        .map(Some)
        .map_err(|_| format!("{what}: not UTF-8"))
}

/// An option value by its name; NULL keeps `default`.
unsafe fn named<T: std::str::FromStr<Err = String>>(
    s: *const c_char,
    what: &str,
    default: T,
) -> Result<T, String> {
    match opt_str(s, what)? {
        None => Ok(default),
        Some(s) => s.parse(),
    }
}

/// A path argument (bytes as they are on Unix).
unsafe fn path(p: *const c_char) -> Result<PathBuf, String> {
    if p.is_null() {
        return Err("path is NULL".into());
    }
    let c = CStr::from_ptr(p);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        c.to_str()
            .map(PathBuf::from)
            .map_err(|_| "path: not UTF-8".to_string())
    }
}

/// `count` paths.
unsafe fn paths(p: *const *const c_char, count: usize) -> Result<Vec<PathBuf>, String> {
    if p.is_null() || count == 0 {
        return Err("no input files given".into());
    }
    std::slice::from_raw_parts(p, count)
        .iter()
        .map(|&s| path(s))
        .collect()
}

/// The caller's option struct read as far as its `struct_size` goes, the rest from `default`;
/// NULL = `default`.
unsafe fn read_struct<T: Copy>(p: *const T, default: T, what: &str) -> Result<T, String> {
    if p.is_null() {
        return Ok(default);
    }
    let size = (p as *const usize).read_unaligned();
    if size < std::mem::size_of::<usize>() {
        return Err(format!(
            "{what}.struct_size is {size}: initialise the struct with {what}_default()"
        ));
    }
    let mut out = default;
    let n = size.min(std::mem::size_of::<T>());
    ptr::copy_nonoverlapping(p as *const u8, &mut out as *mut T as *mut u8, n);
    Ok(out)
}

fn image_out(image: Image) -> *mut bp_image {
    Box::into_raw(Box::new(bp_image { image }))
}

fn engine_ref<'a>(engine: *const bp_engine) -> Result<&'a bp_engine, String> {
    // SAFETY: the caller passes a handle from bp_engine_new (or NULL, refused here).
    unsafe { engine.as_ref() }.ok_or_else(|| "engine is NULL".to_string())
}

/// Default engine options: the best adapter of any API.
#[no_mangle]
pub extern "C" fn bp_engine_options_default() -> bp_engine_options {
    bp_engine_options {
        struct_size: std::mem::size_of::<bp_engine_options>(),
        backend: ptr::null(),
        adapter: -1,
    }
}

/// Default develop options (the CLI's defaults).
#[no_mangle]
pub extern "C" fn bp_options_default() -> bp_options {
    let d = Options::default();
    bp_options {
        struct_size: std::mem::size_of::<bp_options>(),
        demosaic: ptr::null(),
        tone: ptr::null(),
        white_balance: ptr::null(),
        binning: ptr::null(),
        exposure_ev: d.exposure_ev.unwrap_or(f32::NAN),
        bits: d.bits as c_int,
        remosaic: d.remosaic as c_int,
    }
}

/// Default merge options (the CLI's defaults).
#[no_mangle]
pub extern "C" fn bp_merge_options_default() -> bp_merge_options {
    let d = MergeOptions::default();
    bp_merge_options {
        struct_size: std::mem::size_of::<bp_merge_options>(),
        develop: ptr::null(),
        method: ptr::null(),
        strength: d.strength,
        reference: -1,
        frames: 0,
    }
}

/// Default fusion options (the CLI's defaults: Mertens' exponents 1, 1, 1, aligned).
#[no_mangle]
pub extern "C" fn bp_fuse_options_default() -> bp_fuse_options {
    let d = FuseOptions::default();
    bp_fuse_options {
        struct_size: std::mem::size_of::<bp_fuse_options>(),
        contrast: d.contrast,
        saturation: d.saturation,
        exposedness: d.exposedness,
        bits: 0,
        align: d.align as c_int,
        opencv_neutral: d.opencv_neutral as c_int,
    }
}

unsafe fn develop_options(p: *const bp_options) -> Result<Options, String> {
    let o = read_struct(p, bp_options_default(), "bp_options")?;
    let d = Options::default();
    Ok(Options {
        demosaic: named(o.demosaic, "demosaic", d.demosaic)?,
        tone: named(o.tone, "tone", d.tone)?,
        white_balance: named(o.white_balance, "white_balance", d.white_balance)?,
        binning: named(o.binning, "binning", d.binning)?,
        exposure_ev: (!o.exposure_ev.is_nan()).then_some(o.exposure_ev),
        bits: u8::try_from(o.bits).map_err(|_| format!("{} bits per channel: use 8 or 16", o.bits))?,
        remosaic: o.remosaic != 0,
        ..d
    })
}

/// Open a GPU engine; `options` NULL = the defaults. NULL on failure (no adapter, a bad option).
///
/// # Safety
/// `options` is NULL or points to an initialised `bp_engine_options`.
#[no_mangle]
pub unsafe extern "C" fn bp_engine_new(options: *const bp_engine_options) -> *mut bp_engine {
    guard(ptr::null_mut(), || {
        let o = read_struct(options, bp_engine_options_default(), "bp_engine_options")?;
        let opts = EngineOptions {
            backend: named(o.backend, "backend", Default::default())?,
            adapter: usize::try_from(o.adapter).ok(),
        };
        let engine = Engine::new(&opts).map_err(|e| e.to_string())?;
        let adapter = CString::new(engine.adapter().name.replace('\0', " ")).unwrap_or_default();
        Ok(Box::into_raw(Box::new(bp_engine { engine, adapter })))
    })
}

/// Free an engine (NULL is fine). No other thread may be using it.
///
/// # Safety
/// `engine` is NULL or a handle from `bp_engine_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn bp_engine_free(engine: *mut bp_engine) {
    if !engine.is_null() {
        guard((), || {
            drop(Box::from_raw(engine));
            Ok(())
        })
    }
}

/// The name of the engine's adapter, valid while the engine lives; NULL for a NULL engine.
///
/// # Safety
/// `engine` is NULL or a live handle from `bp_engine_new`.
#[no_mangle]
pub unsafe extern "C" fn bp_engine_adapter(engine: *const bp_engine) -> *const c_char {
    guard(ptr::null(), || Ok(engine_ref(engine)?.adapter.as_ptr()))
}

/// Develop one raw file (DNG or a camera raw) into a finished photo; `options` NULL = the
/// defaults. NULL on failure.
///
/// # Safety
/// `engine` is a live handle, `path` a NUL-terminated string, `options` NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn bp_develop(
    engine: *const bp_engine,
    path: *const c_char,
    options: *const bp_options,
) -> *mut bp_image {
    guard(ptr::null_mut(), || {
        let engine = &engine_ref(engine)?.engine;
        let path = self::path(path)?;
        let options = develop_options(options)?;
        let frame = Frame::open(&path).map_err(|e| e.to_string())?;
        let image = engine.develop(&frame, &options).map_err(|e| e.to_string())?;
        Ok(image_out(image))
    })
}

/// Align and merge a raw burst (`count` files in capture order, or one folder of them), then
/// develop it; `options` NULL = the defaults. NULL on failure.
///
/// # Safety
/// `engine` is a live handle, `paths` points to `count` NUL-terminated strings, `options` NULL
/// or initialised (and its `develop` NULL or initialised).
#[no_mangle]
pub unsafe extern "C" fn bp_merge(
    engine: *const bp_engine,
    paths: *const *const c_char,
    count: usize,
    options: *const bp_merge_options,
) -> *mut bp_image {
    guard(ptr::null_mut(), || {
        let engine = &engine_ref(engine)?.engine;
        let inputs = self::paths(paths, count)?;
        let o = read_struct(options, bp_merge_options_default(), "bp_merge_options")?;
        let d = MergeOptions::default();
        let options = MergeOptions {
            reference: usize::try_from(o.reference).ok(),
            method: named(o.method, "method", d.method)?,
            strength: o.strength,
            frames: usize::try_from(o.frames).ok().filter(|&k| k > 0),
            develop: develop_options(o.develop)?,
            ..d
        };
        let mut files = files::burst_files(&inputs).map_err(|e| e.to_string())?;
        if let Some(k) = options.frames {
            files.truncate(k);
        }
        let burst = Burst::open(&files).map_err(|e| e.to_string())?;
        let image = engine.merge(&burst, &options).map_err(|e| e.to_string())?;
        Ok(image_out(image))
    })
}

unsafe fn fuse_options(p: *const bp_fuse_options) -> Result<FuseOptions, String> {
    let o = read_struct(p, bp_fuse_options_default(), "bp_fuse_options")?;
    Ok(FuseOptions {
        contrast: o.contrast,
        saturation: o.saturation,
        exposedness: o.exposedness,
        bits: match o.bits {
            0 => None,
            b => Some(u8::try_from(b).map_err(|_| format!("{b} bits per channel: use 8 or 16"))?),
        },
        align: o.align != 0,
        opencv_neutral: o.opencv_neutral != 0,
    })
}

/// Fuse a bracket of exposures (`count` JPEG/PNG/TIFF or raw files, or folders of them) into one
/// photo; `options` NULL = the defaults. NULL on failure.
///
/// # Safety
/// `engine` is a live handle, `paths` points to `count` NUL-terminated strings, `options` NULL
/// or initialised.
#[no_mangle]
pub unsafe extern "C" fn bp_fuse(
    engine: *const bp_engine,
    paths: *const *const c_char,
    count: usize,
    options: *const bp_fuse_options,
) -> *mut bp_image {
    guard(ptr::null_mut(), || {
        let engine = &engine_ref(engine)?.engine;
        let inputs = self::paths(paths, count)?;
        let options = fuse_options(options)?;
        let image = engine
            .fuse_files(&inputs, &options)
            .map_err(|e| e.to_string())?;
        Ok(image_out(image))
    })
}

/// Fuse `count` images already in memory (all the same size). NULL on failure.
///
/// # Safety
/// `engine` is a live handle, `images` points to `count` live image handles, `options` NULL or
/// initialised.
#[no_mangle]
pub unsafe extern "C" fn bp_fuse_images(
    engine: *const bp_engine,
    images: *const *const bp_image,
    count: usize,
    options: *const bp_fuse_options,
) -> *mut bp_image {
    guard(ptr::null_mut(), || {
        let engine = &engine_ref(engine)?.engine;
        if images.is_null() || count == 0 {
            return Err("no images given".into());
        }
        let list = std::slice::from_raw_parts(images, count)
            .iter()
            .map(|&i| i.as_ref().map(|i| i.image.clone()).ok_or("an image is NULL"))
            .collect::<Result<Vec<_>, _>>()?;
        let options = fuse_options(options)?;
        let image = engine.fuse(&list, &options).map_err(|e| e.to_string())?;
        Ok(image_out(image))
    })
}

/// Read a finished photo (JPEG, PNG or TIFF). NULL on failure.
///
/// # Safety
/// `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn bp_image_open(path: *const c_char) -> *mut bp_image {
    guard(ptr::null_mut(), || {
        let image = Image::open(self::path(path)?).map_err(|e| e.to_string())?;
        Ok(image_out(image))
    })
}

/// Save as PNG, JPEG or TIFF by the extension of `path`. 0 on success, -1 on failure.
///
/// # Safety
/// `image` is a live handle, `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn bp_image_save(image: *const bp_image, path: *const c_char) -> c_int {
    guard(-1, || {
        let image = image.as_ref().ok_or("image is NULL")?;
        image
            .image
            .save(self::path(path)?)
            .map_err(|e| e.to_string())?;
        Ok(0)
    })
}

/// Width in pixels (0 for NULL).
///
/// # Safety
/// `image` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn bp_image_width(image: *const bp_image) -> u32 {
    image.as_ref().map_or(0, |i| i.image.width)
}

/// Height in pixels (0 for NULL).
///
/// # Safety
/// `image` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn bp_image_height(image: *const bp_image) -> u32 {
    image.as_ref().map_or(0, |i| i.image.height)
}

/// Bits per channel of the values: 8 (0..255) or 16 (0..65535); 0 for NULL.
///
/// # Safety
/// `image` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn bp_image_bits(image: *const bp_image) -> u32 {
    image.as_ref().map_or(0, |i| i.image.bits as u32)
}

/// The pixels: width × height × 3 values (RGB interleaved, row-major, sRGB-encoded; linear
/// light with tone "linear"), one `uint16_t` each whatever the bits. Valid until the image is
/// freed; NULL for NULL.
///
/// # Safety
/// `image` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn bp_image_data(image: *const bp_image) -> *const u16 {
    image.as_ref().map_or(ptr::null(), |i| i.image.data.as_ptr())
}

/// Free an image (NULL is fine).
///
/// # Safety
/// `image` is NULL or a handle from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn bp_image_free(image: *mut bp_image) {
    if !image.is_null() {
        guard((), || {
            drop(Box::from_raw(image));
            Ok(())
        })
    }
}

/// Why the last failing call on this thread failed (it names the file and what to do); "" when
/// none has. Valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn bp_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The library's version, e.g. "0.1.0".
#[no_mangle]
pub extern "C" fn bp_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

// The thread-safety promises of the header, checked by the compiler.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<bp_engine>();
    shareable::<bp_image>();
};
