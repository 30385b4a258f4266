//! A passport's machine-readable zone: two lines, split where the input has its first newline.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (line1, line2) = text.split_once('\n').unwrap_or((text, ""));
    let _ = vrs_domain::mrz::Mrz::parse(line1, line2);
});
