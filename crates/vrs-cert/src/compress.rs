//! DEFLATE for the codes: raw for SMART Health Cards, zlib for EU DCCs, with libdeflate (through
//! the `libdeflater` binding) at its fastest level. A code's kilobyte is compressed in one call,
//! which is what libdeflate is built for. Each thread keeps one compressor: setting one up
//! allocates its match-finder state, which would otherwise cost more than compressing a card.
//!
//! Measured on a three-dose card (BENCHMARKS.md, Certificates): its 1.36 kB of JSON took about
//! 10 µs at libdeflate's level 1 and 491 bytes, 15–18 µs and 482 bytes at levels 6 and 9, and
//! 21 µs and 479 bytes with miniz_oxide at level 9 (flate2, the compressor used before); the
//! code's QR version was the same for all. A DCC's COSE message hardly compresses (340 bytes to
//! 333 at level 1, 330 at levels 6–12). Level 1 is the one that brings issuing near the signature's
//! own rate, for a few more bytes.
//!
//! Decompression (in the verifiers) stays with `flate2`: it reads a stream of unknown length,
//! bounded, which libdeflate's whole-buffer API does not.

use std::cell::RefCell;

use libdeflater::{CompressionLvl, Compressor};

/// The compression level (libdeflate's 1–12); see the module's notes.
const LEVEL: i32 = 1;

thread_local! {
    static COMPRESSOR: RefCell<Compressor> = RefCell::new(Compressor::new(
        CompressionLvl::new(LEVEL).unwrap_or_default(),
    ));
}

/// Which container the DEFLATE stream goes in.
#[derive(Clone, Copy)]
enum Format {
    Raw,
    Zlib,
}

fn run(format: Format, bytes: &[u8]) -> Vec<u8> {
    COMPRESSOR.with(|c| {
        let mut compressor = c.borrow_mut();
        let bound = match format {
            Format::Raw => compressor.deflate_compress_bound(bytes.len()),
            Format::Zlib => compressor.zlib_compress_bound(bytes.len()),
        };
        let mut out = vec![0; bound];
        let written = match format {
            Format::Raw => compressor.deflate_compress(bytes, &mut out),
            Format::Zlib => compressor.zlib_compress(bytes, &mut out),
        };
        // The bound is libdeflate's own worst case, so compressing into it cannot run out of
        // room; were it to, an empty result makes the code unreadable, which every verifier
        // refuses.
        out.truncate(written.unwrap_or(0));
        out
    })
}

/// Raw DEFLATE (RFC 1951), as a SMART Health Card's `zip: DEF` payload.
pub fn raw(bytes: &[u8]) -> Vec<u8> {
    run(Format::Raw, bytes)
}

/// zlib (RFC 1950), as inside an EU DCC.
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    run(Format::Zlib, bytes)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn output_inflates_back_with_an_independent_inflater() {
        for n in [0usize, 1, 100, 1_336, 5_000, 200_000] {
            let text: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            // Twice: the second call reuses the thread's compressor.
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
            assert_eq!(raw(&text), raw(&text), "the same bytes every time");
        }
    }

    #[test]
    fn a_compressor_per_thread_writes_the_same_bytes_on_every_thread() {
        let text = br#"{"iss":"https://vrs.example.jp","nbf":1,"vc":{"type":["x"]}}"#.repeat(20);
        let here = (raw(&text), zlib(&text));
        let there = std::thread::spawn(move || (raw(&text), zlib(&text)))
            .join()
            .unwrap();
        assert_eq!(here, there);
        assert!(here.0.len() < 200, "{} bytes", here.0.len());
    }
}
