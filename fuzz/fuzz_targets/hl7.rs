//! HL7 v2: MLLP framing (the input fed in two pieces), the ER7 parser, the reading of a VXU or a
//! Z34 query, and the header read for an AR of bytes that are not text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vrs_interop::hl7::mllp::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(1 << 16);
    let (a, b) = data.split_at(data.len() / 2);
    let _ = decoder.push(a);
    let _ = decoder.push(b);
    let _ = vrs_interop::hl7_messages::header_of(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vrs_interop::hl7::Message::parse(text);
        let _ = vrs_interop::hl7_messages::read(text);
    }
});
