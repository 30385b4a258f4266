//! DEFLATE for the codes: raw for SMART Health Cards, zlib for EU DCCs, both at the best level (the QR
//! code is the constraint). Each thread keeps one compressor per format and resets it between
//! certificates: setting a compressor up allocates and clears a few hundred kilobytes, which would
//! otherwise cost several times the signature itself.

use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress, Status};

thread_local! {
    static RAW: RefCell<Compress> = RefCell::new(Compress::new(Compression::best(), false));
    static ZLIB: RefCell<Compress> = RefCell::new(Compress::new(Compression::best(), true));
}

fn run(compressor: &mut Compress, bytes: &[u8]) -> Vec<u8> {
    compressor.reset();
    let mut out = Vec::with_capacity(bytes.len() / 2 + 64);
    loop {
        let consumed = usize::try_from(compressor.total_in()).unwrap_or(bytes.len());
        let input = bytes.get(consumed..).unwrap_or_default();
        match compressor.compress_vec(input, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return out,
            // More room is needed for the rest of the output.
            Ok(_) => out.reserve(out.capacity().max(64)),
            // Compressing into memory has no failure mode the caller could act on; an empty
            // result makes the code unreadable, which every verifier refuses.
            Err(_) => return Vec::new(),
        }
    }
}

/// Raw DEFLATE (RFC 1951), as a SMART Health Card's `zip: DEF` payload.
pub fn raw(bytes: &[u8]) -> Vec<u8> {
    RAW.with(|c| run(&mut c.borrow_mut(), bytes))
}

/// zlib (RFC 1950), as inside an EU DCC.
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    ZLIB.with(|c| run(&mut c.borrow_mut(), bytes))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn output_equals_a_fresh_encoders_and_inflates_back() {
        for n in [0usize, 1, 100, 5_000, 200_000] {
            let text: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            for _ in 0..2 {
                let mut back = Vec::new();
                flate2::read::DeflateDecoder::new(raw(&text).as_slice())
                    .read_to_end(&mut back)
                    .unwrap();
                assert_eq!(back, text);
                let mut back = Vec::new();
                flate2::read::ZlibDecoder::new(zlib(&text).as_slice())
                    .read_to_end(&mut back)
                    .unwrap();
                assert_eq!(back, text);
            }
            let mut fresh = flate2::write::DeflateEncoder::new(Vec::new(), Compression::best());
            std::io::Write::write_all(&mut fresh, &text).unwrap();
            assert_eq!(
                raw(&text),
                fresh.finish().unwrap(),
                "same bytes as a fresh encoder"
            );
        }
    }
}
