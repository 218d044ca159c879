//! include/burstpipe.h is what cbindgen makes of capi/src/lib.rs today: a stale header fails
//! here. `BURSTPIPE_BLESS=1 cargo test -p burstpipe-capi --test header` rewrites it.

use std::path::Path;

#[test]
fn header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_src(crate_dir.join("src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen reads src/lib.rs");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let fresh = String::from_utf8(fresh).expect("UTF-8 header");
    let header = crate_dir.join("../include/burstpipe.h");
    if std::env::var_os("BURSTPIPE_BLESS").is_some() {
        std::fs::write(&header, &fresh).expect("write include/burstpipe.h");
    }
    let stored = std::fs::read_to_string(&header).unwrap_or_default();
    assert!(
        stored == fresh,
        "include/burstpipe.h is stale: run `BURSTPIPE_BLESS=1 cargo test -p burstpipe-capi --test header` and commit it"
    );
}
