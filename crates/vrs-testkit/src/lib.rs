//! What the tests of every crate share: where the public test vectors are ([`shared_testdata`]),
//! and one fixed test issuer ([`pki`]). Only tests depend on this crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod pki;

use std::path::PathBuf;

/// The shared public test vectors: `$VRS_SHARED_TESTDATA`, else `../shared/testdata` beside the
/// workspace. When absent (a plain clone) the calling test skips with a message, except under CI
/// (`CI` set) or with `VRS_REQUIRE_SHARED=1`, where it fails.
pub fn shared_testdata() -> Option<PathBuf> {
    let root = std::env::var_os("VRS_SHARED_TESTDATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
        PathBuf::from,
    );
    if root.is_dir() {
        return Some(root);
    }
    let test = std::thread::current().name().unwrap_or("test").to_owned();
    let why = format!("the shared test vectors are not at {}", root.display());
    assert!(
        std::env::var_os("CI").is_none()
            && !std::env::var("VRS_REQUIRE_SHARED").is_ok_and(|v| v == "1"),
        "{test}: {why} (required under CI and with VRS_REQUIRE_SHARED=1; set VRS_SHARED_TESTDATA)"
    );
    eprintln!("skipping {test}: {why} (a clone without ../shared; set VRS_SHARED_TESTDATA)");
    None
}

/// A file of the shared vectors as text; call only after [`shared_testdata`] found them.
pub fn shared_text(name: &str) -> String {
    let path = shared_testdata()
        .expect("the shared test vectors were found first")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
