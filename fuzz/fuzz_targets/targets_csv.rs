//! The targets CSV reader (UTF-8 or CP932, sniffed): every row read, none may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vrs_interop::{EncodingChoice, TargetReader};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = TargetReader::new(data, EncodingChoice::Auto) else {
        return;
    };
    while let Some(row) = reader.next_row() {
        if row.is_err() {
            break;
        }
    }
});
