//! The backup file reader (its header, manifest and sections), before any key is used.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vrs_crypto::backup::BackupFile::parse(data);
});
