//! The dose CSV reader and the bulk inquiry reader: every row read, none may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vrs_interop::{DoseReader, EncodingChoice, InquiryReader};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut reader) = DoseReader::new(data, EncodingChoice::Auto) {
        while let Some(row) = reader.next_row() {
            if row.is_err() {
                break;
            }
        }
    }
    if let Ok(mut reader) = InquiryReader::new(data, EncodingChoice::Auto) {
        while let Some(row) = reader.next_line() {
            if row.is_err() {
                break;
            }
        }
    }
});
