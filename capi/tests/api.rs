//! The C functions called from Rust: errors are NULL plus a message, option structs grow.

use std::ffi::{c_char, CStr};
use std::ptr;

use burstpipe_capi::*;

fn last_error() -> String {
    unsafe { CStr::from_ptr(bp_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn null_and_bad_arguments_are_errors_not_crashes() {
    let path = c"assets/sample.dng".as_ptr();
    assert!(unsafe { bp_develop(ptr::null(), path, ptr::null()) }.is_null());
    assert!(last_error().contains("engine is NULL"), "{}", last_error());
    assert_eq!(unsafe { bp_image_save(ptr::null(), path) }, -1);
    assert!(last_error().contains("image is NULL"));
    unsafe {
        bp_image_free(ptr::null_mut());
        bp_engine_free(ptr::null_mut());
    }
    assert_eq!(unsafe { bp_image_width(ptr::null()) }, 0);
    assert!(unsafe { bp_image_data(ptr::null()) }.is_null());
}

#[test]
fn option_structs_grow_and_names_are_checked() {
    // An unset struct (struct_size 0) is refused with what to do.
    let mut options = bp_engine_options_default();
    options.struct_size = 0;
    assert!(unsafe { bp_engine_new(&options) }.is_null());
    assert!(last_error().contains("bp_engine_options_default"), "{}", last_error());
    // A bad name lists the choices.
    let mut options = bp_engine_options_default();
    options.backend = c"cuda".as_ptr();
    assert!(unsafe { bp_engine_new(&options) }.is_null());
    assert!(last_error().contains("vulkan"), "{}", last_error());
    // A caller built against a shorter struct: the fields it lacks (here the bad backend name
    // lies beyond its size) take the defaults.
    options.struct_size = std::mem::size_of::<usize>();
    let engine = unsafe { bp_engine_new(&options) };
    assert!(!engine.is_null(), "{}", last_error());
    let name = unsafe { CStr::from_ptr(bp_engine_adapter(engine)) };
    assert!(!name.to_bytes().is_empty());
    let mut develop = bp_options_default();
    develop.demosaic = c"fast".as_ptr();
    let image = unsafe { bp_develop(engine, c"assets/sample.dng".as_ptr(), &develop) };
    assert!(image.is_null());
    assert!(last_error().contains("unknown demosaic method 'fast'"), "{}", last_error());
    let paths: [*const c_char; 1] = [c"missing-frame.dng".as_ptr()];
    assert!(unsafe { bp_fuse(engine, paths.as_ptr(), 1, ptr::null()) }.is_null());
    assert!(last_error().contains("missing-frame.dng"), "{}", last_error());
    unsafe { bp_engine_free(engine) };
}
